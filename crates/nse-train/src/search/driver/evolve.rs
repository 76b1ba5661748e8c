//! The end of a round, after scoring (docs/method.md §7.4–7.6): the Pareto front, its plot,
//! and the evolution of the sub-space.

use super::*;

impl Search {
    /// Replaces the sub-space of the round about to start, at [`Pause::AfterRound`]: per cell
    /// the ops `cells` lists, which must keep the previous front's ops, hold at most K, and
    /// use no retired op ([`EvolutionState::replace_subspace`]: ops taken from the pending
    /// pool leave it, ops left out go back to its front). Returns the new sub-space's cells;
    /// an error when the search is not paused at a round's start.
    pub fn set_subspace(&mut self, cells: Vec<Vec<usize>>) -> Result<Vec<Vec<usize>>> {
        let (dir, mut progress) = self.paused_checkpoint(Pause::AfterRound)?;
        let cells = progress.evolution.replace_subspace(cells)?.cells().to_vec();
        checkpoint::update_progress(&dir, &progress)?;
        Ok(cells)
    }

    pub(super) fn finish_round(
        &self,
        progress: &mut SearchState,
        log: &mut RunLog<'_>,
    ) -> Result<Vec<FrontEntry>> {
        let round = progress.round();
        let Phase::Evaluate { archs } = &progress.phase else {
            unreachable!("finish_round follows the evaluation");
        };
        let front = Front::of(archs, &self.plan)?;
        let points = front.chart_points(
            archs
                .iter()
                .map(|a| (&a.architecture, a.cost, a.accuracy.unwrap_or(0.0), a.origin)),
        );
        let plot = self.run_dir.pareto_plot_path(round.number());
        let unit = self.plan.costs.unit.clone();
        // Only rank 0 draws: the other ranks' folders are private and removed at the end.
        let drawn = self.ranks.is_root().then(|| {
            plot_pareto(
                &points,
                &format!("{round} - held-out top-1 vs cost"),
                &unit,
                Some(&self.plan.config.resource.window()),
                &plot,
            )
        });
        if let Some(Err(e)) = &drawn {
            log.write(&SearchEvent::Warning {
                message: format!("could not draw {}: {e}", plot.display()),
            })?;
        }
        let front_archs = front.architectures();
        let is_last = round.number() >= self.total_rounds(&progress.evolution);
        let introduced = if is_last {
            Vec::new()
        } else {
            progress.evolution.evolve(&front_archs)?
        };
        let front = front.into_entries();
        log.write(&SearchEvent::RoundEnd {
            round: round.number(),
            front: front.clone(),
            introduced: introduced.clone(),
            kept: progress.evolution.kept().to_vec(),
            evaluated: archs.len(),
            plot: matches!(drawn, Some(Ok(()))).then_some(plot),
        })?;
        Ok(front)
    }
}
