//! Ranks over MPI (the `mpi` crate, rsmpi 0.8).

use std::sync::{Mutex, MutexGuard};

use mpi::Threading;
use mpi::collective::{CommunicatorCollectives, Root, SystemOperation};
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};

use crate::{ClusterError, Collective, Result};

/// The most elements one MPI call moves (its counts are `i32`); longer slices go in chunks.
const CHUNK: usize = 1 << 28;

/// The ranks of a job launched by an MPI launcher: MPI's world communicator. MPI is
/// finalised when this value is dropped (drop it on the thread that created it).
///
/// Every call into MPI holds one lock, and MPI runs at the `MPI_THREAD_SERIALIZED` level
/// or above, so a `Mpi` may be shared between threads (a search moved to a worker thread,
/// say); the collectives of one job still have to be called in the same order on every
/// rank.
pub struct Mpi {
    world: SimpleCommunicator,
    lock: Mutex<()>,
    // Dropped after `world`: finalises MPI.
    _universe: Universe,
}

// SAFETY: the communicator is a handle that MPI allows any thread to use at the
// `MPI_THREAD_SERIALIZED` level, which `initialize` requires; every use goes through
// `serial()`, so no two threads call MPI at once.
#[allow(unsafe_code)]
unsafe impl Send for Mpi {}
// SAFETY: as for `Send`: all access is serialised by `lock`.
#[allow(unsafe_code)]
unsafe impl Sync for Mpi {}

impl Mpi {
    /// Initialises MPI (once per process) at the `MPI_THREAD_SERIALIZED` level.
    ///
    /// # Errors
    /// [`ClusterError::Init`] when MPI was already initialised, or when the MPI library
    /// offers no thread support beyond `MPI_THREAD_FUNNELED`.
    pub fn initialize() -> Result<Self> {
        let (universe, level) =
            mpi::initialize_with_threading(Threading::Serialized).ok_or_else(|| {
                ClusterError::Init("MPI was already initialised in this process".into())
            })?;
        if level < Threading::Serialized {
            return Err(ClusterError::Init(format!(
                "the MPI library offers thread level {level:?}; nse needs Serialized or \
                 Multiple (build Open MPI or MPICH with thread support)"
            )));
        }
        Ok(Mpi {
            world: universe.world(),
            lock: Mutex::new(()),
            _universe: universe,
        })
    }

    /// The lock every MPI call is made under.
    fn serial(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for Mpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mpi(rank {} of {})", self.rank(), self.size())
    }
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn all_reduce_sum(&self, values: &mut [f32]) {
        let _serial = self.serial();
        for chunk in values.chunks_mut(CHUNK) {
            let send = chunk.to_vec();
            self.world
                .all_reduce_into(&send[..], chunk, SystemOperation::sum());
        }
    }

    fn all_reduce_sum_f64(&self, values: &mut [f64]) {
        let _serial = self.serial();
        for chunk in values.chunks_mut(CHUNK) {
            let send = chunk.to_vec();
            self.world
                .all_reduce_into(&send[..], chunk, SystemOperation::sum());
        }
    }

    fn min_max(&self, value: u64) -> (u64, u64) {
        let _serial = self.serial();
        let (mut min, mut max) = (0u64, 0u64);
        self.world
            .all_reduce_into(&value, &mut min, SystemOperation::min());
        self.world
            .all_reduce_into(&value, &mut max, SystemOperation::max());
        (min, max)
    }

    fn broadcast(&self, root: usize, bytes: &mut Vec<u8>) {
        let _serial = self.serial();
        let root = self.world.process_at_rank(root as i32);
        let mut len = bytes.len() as u64;
        root.broadcast_into(&mut len);
        bytes.resize(len as usize, 0);
        for chunk in bytes.chunks_mut(CHUNK) {
            root.broadcast_into(chunk);
        }
    }

    fn barrier(&self) {
        let _serial = self.serial();
        self.world.barrier();
    }

    fn abort(&self, code: i32, message: &str) -> ! {
        eprintln!("rank {} of {}: {message}", self.rank(), self.size());
        self.world.abort(code)
    }
}
