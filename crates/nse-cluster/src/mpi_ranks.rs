//! Ranks over MPI (the `mpi` crate, rsmpi 0.8).

use mpi::collective::{CommunicatorCollectives, Root, SystemOperation};
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};

use crate::{ClusterError, Collective, Result};

/// The most elements one MPI call moves (its counts are `i32`); longer slices go in chunks.
const CHUNK: usize = 1 << 28;

/// The ranks of a job launched by an MPI launcher: MPI's world communicator. MPI is
/// finalised when this value is dropped.
pub struct Mpi {
    world: SimpleCommunicator,
    // Dropped after `world`: finalises MPI.
    _universe: Universe,
}

impl Mpi {
    /// Initialises MPI (once per process).
    ///
    /// # Errors
    /// [`ClusterError::Init`] when MPI was already initialised.
    pub fn initialize() -> Result<Self> {
        let universe = mpi::initialize().ok_or_else(|| {
            ClusterError::Init("MPI was already initialised in this process".into())
        })?;
        Ok(Mpi {
            world: universe.world(),
            _universe: universe,
        })
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
        for chunk in values.chunks_mut(CHUNK) {
            let send = chunk.to_vec();
            self.world
                .all_reduce_into(&send[..], chunk, SystemOperation::sum());
        }
    }

    fn all_reduce_sum_f64(&self, values: &mut [f64]) {
        for chunk in values.chunks_mut(CHUNK) {
            let send = chunk.to_vec();
            self.world
                .all_reduce_into(&send[..], chunk, SystemOperation::sum());
        }
    }

    fn min_max(&self, value: u64) -> (u64, u64) {
        let (mut min, mut max) = (0u64, 0u64);
        self.world
            .all_reduce_into(&value, &mut min, SystemOperation::min());
        self.world
            .all_reduce_into(&value, &mut max, SystemOperation::max());
        (min, max)
    }

    fn broadcast(&self, root: usize, bytes: &mut Vec<u8>) {
        let root = self.world.process_at_rank(root as i32);
        let mut len = bytes.len() as u64;
        root.broadcast_into(&mut len);
        bytes.resize(len as usize, 0);
        for chunk in bytes.chunks_mut(CHUNK) {
            root.broadcast_into(chunk);
        }
    }

    fn barrier(&self) {
        self.world.barrier();
    }

    fn abort(&self, code: i32, message: &str) -> ! {
        eprintln!("rank {} of {}: {message}", self.rank(), self.size());
        self.world.abort(code)
    }
}
