//! JPEG decoding through the system's libjpeg-turbo (its TurboJPEG 2 API, which Debian 12's
//! 2.1.5 and every later release provide), with DCT scaling. Built with the feature
//! `libjpeg-turbo` only; the declarations below are the few functions used.
#![allow(unsafe_code)] // FFI to the C library; every call checks its return code.

use std::ffi::{CStr, c_char, c_int, c_uchar, c_ulong, c_void};
use std::path::Path;

use super::error::{DataError, Result};
use super::sample::Image;

#[link(name = "turbojpeg")]
unsafe extern "C" {
    fn tjInitDecompress() -> *mut c_void;
    fn tjDestroy(handle: *mut c_void) -> c_int;
    fn tjDecompressHeader3(
        handle: *mut c_void,
        jpeg: *const c_uchar,
        size: c_ulong,
        width: *mut c_int,
        height: *mut c_int,
        subsampling: *mut c_int,
        colorspace: *mut c_int,
    ) -> c_int;
    fn tjDecompress2(
        handle: *mut c_void,
        jpeg: *const c_uchar,
        size: c_ulong,
        dst: *mut c_uchar,
        width: c_int,
        pitch: c_int,
        height: c_int,
        pixel_format: c_int,
        flags: c_int,
    ) -> c_int;
    fn tjGetErrorStr2(handle: *mut c_void) -> *mut c_char;
}

const TJPF_RGB: c_int = 0;
const TJPF_GRAY: c_int = 6;
const TJCS_CMYK: c_int = 3;
const TJCS_YCCK: c_int = 4;

/// One decompressor per thread (a TurboJPEG handle is not thread-safe).
struct Handle(*mut c_void);

impl Drop for Handle {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the handle came from tjInitDecompress and is destroyed once.
            unsafe { tjDestroy(self.0) };
        }
    }
}

thread_local! {
    // SAFETY: tjInitDecompress has no preconditions; a null result is checked at use.
    static HANDLE: Handle = Handle(unsafe { tjInitDecompress() });
}

fn with_handle<T>(
    f: impl FnOnce(*mut c_void) -> std::result::Result<T, String>,
) -> std::result::Result<T, String> {
    HANDLE.with(|h| {
        if h.0.is_null() {
            Err("libjpeg-turbo could not create a decompressor".into())
        } else {
            f(h.0)
        }
    })
}

fn last_error(handle: *mut c_void) -> String {
    // SAFETY: tjGetErrorStr2 returns a NUL-terminated string owned by the library.
    unsafe { CStr::from_ptr(tjGetErrorStr2(handle)) }
        .to_string_lossy()
        .into_owned()
}

/// Reads the header: (width, height, colour space).
fn header(handle: *mut c_void, bytes: &[u8]) -> std::result::Result<(usize, usize, c_int), String> {
    let (mut w, mut h, mut sub, mut cs) = (0, 0, 0, 0);
    // SAFETY: `bytes` is a valid slice for its length; the outputs are valid pointers.
    let rc = unsafe {
        tjDecompressHeader3(
            handle,
            bytes.as_ptr(),
            bytes.len() as c_ulong,
            &mut w,
            &mut h,
            &mut sub,
            &mut cs,
        )
    };
    if rc != 0 || w <= 0 || h <= 0 {
        return Err(last_error(handle));
    }
    Ok((w as usize, h as usize, cs))
}

/// The size of a JPEG that this decoder can scale: `None` for non-JPEG bytes and for CMYK
/// and YCCK JPEGs (which TurboJPEG 2 cannot convert to RGB; the `image` crate decodes them).
pub(crate) fn scalable_size(bytes: &[u8]) -> Option<(usize, usize)> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    with_handle(|handle| header(handle, bytes))
        .ok()
        .filter(|&(_, _, cs)| cs != TJCS_CMYK && cs != TJCS_YCCK)
        .map(|(w, h, _)| (w, h))
}

/// Decodes `bytes` (read from `path`), a JPEG of `size` ([`scalable_size`]), at
/// `1/denominator` of its size (each side rounded up) into `channels` (1 or 3) channels.
pub(crate) fn decode(
    path: &Path,
    bytes: &[u8],
    channels: usize,
    (w, h): (usize, usize),
    denominator: usize,
) -> Result<Image> {
    let format = match channels {
        3 => TJPF_RGB,
        1 => TJPF_GRAY,
        other => {
            return Err(DataError::param(
                "channels",
                other,
                "decoded images have 1 (grayscale) or 3 (RGB) channels",
            ));
        }
    };
    let decoded = with_handle(|handle| {
        let (sw, sh) = (w.div_ceil(denominator), h.div_ceil(denominator));
        let mut out = vec![0u8; sw * sh * channels];
        // SAFETY: `out` holds sw * sh * channels bytes, which is what a packed (pitch 0)
        // `format` image of sw x sh needs; TurboJPEG picks the scale giving exactly that
        // size, since sw x sh is one of its scaled sizes.
        let rc = unsafe {
            tjDecompress2(
                handle,
                bytes.as_ptr(),
                bytes.len() as c_ulong,
                out.as_mut_ptr(),
                sw as c_int,
                0,
                sh as c_int,
                format,
                0,
            )
        };
        if rc != 0 {
            return Err(last_error(handle));
        }
        Ok((sw, sh, out))
    })
    .map_err(|reason| DataError::Decode {
        path: path.to_path_buf(),
        reason: format!("libjpeg-turbo: {reason}"),
    })?;
    Image::new(decoded.0, decoded.1, channels, decoded.2)
}
