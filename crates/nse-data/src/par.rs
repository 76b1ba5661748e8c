//! A minimal parallel map on scoped std threads.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The number of threads to use when the caller says 0 ("automatic").
pub(crate) fn auto_threads(requested: usize) -> usize {
    if requested > 0 {
        requested
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// `(0..n).map(f).collect()`, computed on `threads` threads (0 = one per core); the result is
/// in index order whatever the scheduling.
pub(crate) fn parallel_map<T, F>(n: usize, threads: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize) -> T + Sync,
{
    let threads = auto_threads(threads).min(n.max(1));
    if threads <= 1 {
        return (0..n).map(f).collect();
    }
    const CHUNK: usize = 64;
    let next = AtomicUsize::new(0);
    let mut parts: Vec<(usize, Vec<T>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                        if start >= n {
                            break;
                        }
                        let end = (start + CHUNK).min(n);
                        done.push((start, (start..end).map(&f).collect::<Vec<T>>()));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    parts.sort_unstable_by_key(|(start, _)| *start);
    parts.into_iter().flat_map(|(_, v)| v).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_index_order() {
        for threads in [1, 2, 3, 8] {
            let v = parallel_map(1000, threads, |i| i * i);
            assert_eq!(v, (0..1000).map(|i| i * i).collect::<Vec<_>>());
        }
        assert!(parallel_map(0, 4, |i| i).is_empty());
    }
}
