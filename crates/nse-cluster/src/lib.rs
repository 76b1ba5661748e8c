//! The ranks of one NSE job: processes, on one machine or many, that take the same steps
//! together.
//!
//! A job is `size` ranks numbered `0..size`; rank 0 reads and writes the run folder. Every
//! cross-rank exchange goes through a [`Collective`]: [`Solo`] when the job is one process
//! (every operation is the identity), `Mpi` (feature `mpi`) when it was launched by
//! `mpirun`, `mpiexec` or Slurm's `srun --mpi=pmix`. [`Ranks::from_launcher`] picks the
//! one the process was started with, so a binary built with the feature behaves exactly as
//! without it when run on its own.
//!
//! Collectives take plain slices (`f32` gradients flattened in a fixed order, `f64`
//! sums, `u64` hashes, bytes): this crate knows nothing of tensors. Every rank must call
//! the same collectives in the same order with the same lengths; a length that differs
//! between ranks is an error of the caller that MPI may not detect.
//!
//! ```
//! use nse_cluster::{Collective, Ranks};
//!
//! let ranks = Ranks::from_launcher().unwrap(); // one rank when not under mpirun
//! let mut grads = vec![1.0f32, 2.0];
//! ranks.all_reduce_sum(&mut grads);
//! assert_eq!(grads, [ranks.size() as f32, 2.0 * ranks.size() as f32]);
//! ```

#[cfg(feature = "mpi")]
mod mpi_ranks;

#[cfg(feature = "mpi")]
pub use mpi_ranks::Mpi;

/// What can go wrong between ranks.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The process was started by an MPI launcher but this build has no MPI.
    #[error(
        "started by an MPI launcher ({0} is set) but built without the `mpi` feature: \
         rebuild with `--features mpi`, or run without mpirun"
    )]
    NoMpiSupport(&'static str),
    /// MPI could not be initialised.
    #[error("MPI could not be initialised: {0}")]
    Init(String),
    /// Bytes received from another rank are not what was sent.
    #[error("the files received from another rank do not unpack: {0}")]
    Damaged(String),
}

/// `Result` with [`ClusterError`].
pub type Result<T> = std::result::Result<T, ClusterError>;

/// The exchanges between the ranks of a job. Every rank calls the same operations in the
/// same order; each returns when all ranks have contributed.
pub trait Collective {
    /// This process's rank, `0..size`.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// Element-wise sum over the ranks, in place (gradients).
    fn all_reduce_sum(&self, values: &mut [f32]);
    /// Element-wise sum over the ranks, in place (losses, counts, statistics).
    fn all_reduce_sum_f64(&self, values: &mut [f64]);
    /// The least and the greatest `value` over the ranks (equal when every rank holds the
    /// same: a check that the ranks agree, e.g. on a hash of the drawn path).
    fn min_max(&self, value: u64) -> (u64, u64);
    /// Rank `root`'s `bytes` on every rank (its length included).
    fn broadcast(&self, root: usize, bytes: &mut Vec<u8>);
    /// Returns when every rank has called it.
    fn barrier(&self);
    /// Ends every rank of the job now with `code` (after `message` on standard error).
    fn abort(&self, code: i32, message: &str) -> !;
    /// Whether this rank writes the run folder (rank 0).
    fn is_root(&self) -> bool {
        self.rank() == 0
    }
    /// Whether every rank holds the same `hash` (of a drawn path, a config, …; see
    /// [`fnv1a`]); every rank gets the same answer.
    fn agree(&self, hash: u64) -> bool {
        let (min, max) = self.min_max(hash);
        min == max
    }
    /// Whether `flag` is raised on any rank; every rank gets the same answer (a stop asked
    /// on one rank stops all of them at the same step).
    fn any(&self, flag: bool) -> bool {
        self.min_max(u64::from(flag)).1 > 0
    }
    /// Rank `root`'s `files` (relative names and contents) on every rank: one
    /// [`broadcast`](Self::broadcast) of their [`pack`]. What the other ranks pass is
    /// ignored.
    ///
    /// # Errors
    /// [`ClusterError::Damaged`] when the bytes received do not unpack (a bug, or ranks
    /// that called different collectives).
    fn broadcast_files(&self, root: usize, files: Vec<SharedFile>) -> Result<Vec<SharedFile>> {
        let mut bytes = if self.rank() == root {
            pack(&files)
        } else {
            Vec::new()
        };
        self.broadcast(root, &mut bytes);
        if self.rank() == root {
            Ok(files)
        } else {
            unpack(&bytes)
        }
    }
}

/// The FNV-1a hash of `bytes`: equal on ranks that hold the same bytes, for
/// [`Collective::agree`].
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_extend(FNV1A_START, bytes)
}

/// The FNV-1a hash of nothing: where [`fnv1a_extend`] starts.
pub const FNV1A_START: u64 = 0xcbf2_9ce4_8422_2325;

/// The FNV-1a hash `hash` of some bytes continued over `bytes`: hashing a long sequence in
/// pieces, `fnv1a_extend(fnv1a(a), b) == fnv1a(a ++ b)`.
pub fn fnv1a_extend(mut hash: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A file passed between ranks: its name relative to a folder, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedFile {
    /// `/`-separated path relative to the folder it belongs to.
    pub name: String,
    /// The contents.
    pub bytes: Vec<u8>,
}

/// Files as one byte string: their count, then each name and contents, every length as
/// 8 little-endian bytes.
pub fn pack(files: &[SharedFile]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend((files.len() as u64).to_le_bytes());
    for file in files {
        out.extend((file.name.len() as u64).to_le_bytes());
        out.extend(file.name.as_bytes());
        out.extend((file.bytes.len() as u64).to_le_bytes());
        out.extend(&file.bytes);
    }
    out
}

/// The files of a [`pack`].
///
/// # Errors
/// [`ClusterError::Damaged`] when `bytes` is not a whole pack.
pub fn unpack(bytes: &[u8]) -> Result<Vec<SharedFile>> {
    fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
        if rest.len() < n {
            return Err(ClusterError::Damaged(format!(
                "{n} bytes expected, {} left",
                rest.len()
            )));
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Ok(head)
    }
    fn length(rest: &mut &[u8]) -> Result<usize> {
        let raw: [u8; 8] = take(rest, 8)?.try_into().expect("8 bytes");
        usize::try_from(u64::from_le_bytes(raw))
            .map_err(|_| ClusterError::Damaged("a length beyond this machine's memory".into()))
    }
    let mut rest = bytes;
    let count = length(&mut rest)?;
    let mut files = Vec::new();
    for _ in 0..count {
        let n = length(&mut rest)?;
        let name = String::from_utf8(take(&mut rest, n)?.to_vec())
            .map_err(|_| ClusterError::Damaged("a file name that is not UTF-8".into()))?;
        let n = length(&mut rest)?;
        let bytes = take(&mut rest, n)?.to_vec();
        files.push(SharedFile { name, bytes });
    }
    if !rest.is_empty() {
        return Err(ClusterError::Damaged(format!(
            "{} bytes after the last file",
            rest.len()
        )));
    }
    Ok(files)
}

/// A job of one process: every collective is the identity.
#[derive(Debug, Clone, Copy, Default)]
pub struct Solo;

impl Collective for Solo {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_reduce_sum(&self, _values: &mut [f32]) {}
    fn all_reduce_sum_f64(&self, _values: &mut [f64]) {}
    fn min_max(&self, value: u64) -> (u64, u64) {
        (value, value)
    }
    fn broadcast(&self, _root: usize, _bytes: &mut Vec<u8>) {}
    fn barrier(&self) {}
    fn abort(&self, code: i32, message: &str) -> ! {
        eprintln!("{message}");
        std::process::exit(code)
    }
}

/// The environment variables by which MPI launchers tell a process its rank: Open MPI's
/// `mpirun`, MPICH's and Intel MPI's `mpiexec` (PMI), and PMIx (Open MPI 4+, Slurm's
/// `srun --mpi=pmix`).
pub const LAUNCHER_VARIABLES: [&str; 3] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"];

/// The launcher variable set in this process's environment, if any.
pub fn launcher_variable() -> Option<&'static str> {
    LAUNCHER_VARIABLES
        .into_iter()
        .find(|v| std::env::var_os(v).is_some())
}

/// The ranks this process belongs to: [`Solo`] or `Mpi`.
pub enum Ranks {
    /// One process.
    Solo(Solo),
    /// Ranks over MPI.
    #[cfg(feature = "mpi")]
    Mpi(Mpi),
}

impl Ranks {
    /// `Mpi` when an MPI launcher started this process (one of [`LAUNCHER_VARIABLES`] is
    /// set), else [`Solo`]. MPI is initialised once per process: call this once, at start.
    ///
    /// # Errors
    /// [`ClusterError::NoMpiSupport`] when launched by mpirun without the `mpi` feature
    /// (every rank would otherwise run the whole job alone); [`ClusterError::Init`] when
    /// MPI cannot start.
    pub fn from_launcher() -> Result<Self> {
        match launcher_variable() {
            None => Ok(Ranks::Solo(Solo)),
            #[cfg(feature = "mpi")]
            Some(_) => Ok(Ranks::Mpi(Mpi::initialize()?)),
            #[cfg(not(feature = "mpi"))]
            Some(variable) => Err(ClusterError::NoMpiSupport(variable)),
        }
    }

    fn inner(&self) -> &dyn Collective {
        match self {
            Ranks::Solo(solo) => solo,
            #[cfg(feature = "mpi")]
            Ranks::Mpi(mpi) => mpi,
        }
    }
}

impl Collective for Ranks {
    fn rank(&self) -> usize {
        self.inner().rank()
    }
    fn size(&self) -> usize {
        self.inner().size()
    }
    fn all_reduce_sum(&self, values: &mut [f32]) {
        self.inner().all_reduce_sum(values)
    }
    fn all_reduce_sum_f64(&self, values: &mut [f64]) {
        self.inner().all_reduce_sum_f64(values)
    }
    fn min_max(&self, value: u64) -> (u64, u64) {
        self.inner().min_max(value)
    }
    fn broadcast(&self, root: usize, bytes: &mut Vec<u8>) {
        self.inner().broadcast(root, bytes)
    }
    fn barrier(&self) {
        self.inner().barrier()
    }
    fn abort(&self, code: i32, message: &str) -> ! {
        self.inner().abort(code, message)
    }
}

/// The part of `total` items (a global batch) that rank `rank` of `size` takes: the
/// first `total % size` ranks one more than the others, in rank order, as the devices of a
/// rank split its part. Returns the offset and the length.
pub fn rank_share(total: usize, rank: usize, size: usize) -> (usize, usize) {
    assert!(size > 0 && rank < size, "rank {rank} of {size}");
    let base = total / size;
    let extra = total % size;
    let len = base + usize::from(rank < extra);
    let offset = rank * base + rank.min(extra);
    (offset, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_the_total_in_rank_order() {
        for total in [0, 1, 7, 64, 65] {
            for size in 1..5 {
                let mut next = 0;
                for rank in 0..size {
                    let (offset, len) = rank_share(total, rank, size);
                    assert_eq!(offset, next, "{total} over {size}");
                    assert!(len == total / size || len == total / size + 1);
                    next += len;
                }
                assert_eq!(next, total);
            }
        }
    }

    #[test]
    fn fnv1a_in_pieces_is_fnv1a_of_the_whole() {
        let whole = fnv1a(b"weights of rank 0");
        assert_eq!(fnv1a_extend(fnv1a(b"weights "), b"of rank 0"), whole);
        assert_ne!(fnv1a(b"weights of rank 1"), whole);
        assert_eq!(fnv1a(b""), FNV1A_START);
    }

    #[test]
    fn one_process_is_one_rank_whose_collectives_change_nothing() {
        let solo = Solo;
        let mut v = vec![1.5f32, -2.0];
        solo.all_reduce_sum(&mut v);
        assert_eq!(v, [1.5, -2.0]);
        let mut bytes = b"weights".to_vec();
        solo.broadcast(0, &mut bytes);
        assert_eq!(bytes, b"weights");
        assert_eq!(solo.min_max(7), (7, 7));
        assert!(solo.is_root());
        assert!(solo.any(true) && !solo.any(false));
    }

    #[test]
    fn files_survive_a_pack_and_a_cut_pack_is_refused() {
        let files = vec![
            SharedFile {
                name: "config.json".into(),
                bytes: b"{}".to_vec(),
            },
            SharedFile {
                name: "checkpoint/supernet.bpk".into(),
                bytes: vec![0, 255, 7],
            },
            SharedFile {
                name: "empty".into(),
                bytes: Vec::new(),
            },
        ];
        let packed = pack(&files);
        assert_eq!(unpack(&packed).unwrap(), files);
        assert_eq!(unpack(&pack(&[])).unwrap(), []);
        for cut in [0, 7, 8, packed.len() - 1] {
            assert!(unpack(&packed[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = packed.clone();
        longer.push(0);
        assert!(unpack(&longer).is_err());
        assert_eq!(
            Solo.broadcast_files(0, files.clone()).unwrap(),
            files,
            "one rank keeps its own"
        );
    }
}
