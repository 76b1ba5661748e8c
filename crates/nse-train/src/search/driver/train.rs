//! One round of supernet training (docs/method.md §6): weight steps on sampled paths
//! (`weight_sampling`), indicator steps every `indicator.every` steps, dropping, probes and checkpoints.

use super::*;

impl Search {
    pub(super) fn train_round(
        &self,
        progress: &mut SearchState,
        models: &mut RoundModels,
        loaders: &Loaders,
        log: &mut RunLog<'_>,
        budget: &mut Option<u64>,
    ) -> Result<bool> {
        let (train_loader, held_loader) = (&loaders.train, &loaders.held);
        let round = progress.round();
        let epochs = self.plan.config.epochs_per_round;
        let per_epoch = self
            .plan
            .config
            .epoch_batches
            .map_or(train_loader.num_batches(), |n| {
                n.min(train_loader.num_batches())
            });
        let total = (epochs * per_epoch) as u64;
        let lr = &self.plan.config.lr;
        let schedule = CosineWarmup {
            base: lr.base,
            warmup_from: lr.warmup_from,
            min: lr.min,
            warmup_steps: (lr.warmup_epochs * per_epoch as f64).round() as usize,
            total_steps: total as usize,
        };
        let first_epoch = round.index() * epochs;
        let Phase::Train {
            mut position,
            mut step,
            mut indicator_steps,
        } = progress.phase.clone()
        else {
            unreachable!("train_round is called in the train phase");
        };
        let held_batches = held_loader.num_batches();
        let threshold = self.plan.config.indicator.drop_threshold;
        log.write(&SearchEvent::PhaseStart {
            round: round.number(),
            phase: RoundPhase::Training,
            done: step,
            total,
        })?;
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        let mut ended_early = false;
        let mut skipped_in_a_row = 0u32;
        while position.epoch < first_epoch + epochs {
            let epoch = train_loader.epoch_from(position)?;
            for batch in epoch {
                if let Ok(b) = &batch
                    && b.position.batch >= per_epoch
                {
                    break;
                }
                if step > 0 && self.ranks.any(self.end_training.take()) {
                    ended_early = true;
                    log.write(&SearchEvent::TrainingEndedEarly {
                        round: round.number(),
                        step,
                        planned: total,
                    })?;
                    break;
                }
                let interrupted = self.stop_asked();
                if interrupted || budget.is_some_and(|b| b == 0) {
                    progress.phase = Phase::Train {
                        position,
                        step,
                        indicator_steps,
                    };
                    self.save_checkpoint(progress, models, log)?;
                    log.write(&SearchEvent::Stopped {
                        reason: if interrupted {
                            StopReason::Asked
                        } else {
                            StopReason::StepBudget
                        },
                        phase: RoundPhase::Training,
                        total_steps: progress.total_steps,
                    })?;
                    return Ok(true);
                }
                let batch = batch?;
                let batch_position = batch.position;
                let subspace = progress.evolution.subspace().clone();
                // Weight step: a multi-branch path of the sub-space, drawn as
                // `weight_sampling` says (the reference: each op with probability 0.5).
                let seed = self.plan.config.training_seed();
                let mut rng = derive_rng(&[seed, STREAM_WEIGHT_STEP, round.stream(), step]);
                let arch = subspace.sample_weight_path(
                    self.plan.config.weight_sampling,
                    step,
                    &mut rng,
                    |cell, block| fair_block_seed(seed, round.stream(), cell as u64, block),
                );
                let lr_now = schedule.lr(step as usize);
                let coast = self.coasting_ops(&subspace, arch.cells(), step);
                let images = if self.poisoned.contains(&(round.number(), step + 1)) {
                    batch.images.mul_scalar(f32::NAN)
                } else {
                    batch.images
                };
                // One process is one rank: the ranked step is then the devices' step
                // (`weight_step_parallel` is this call with `Workers::local`).
                let (supernet, stats) = weight_step_ranked(
                    models.state.supernet.clone(),
                    &mut models.weight_optim,
                    lr_now,
                    arch.cells(),
                    &coast,
                    images,
                    batch.labels,
                    &Workers::new(&self.devices, &*self.ranks),
                )?;
                // A non-finite loss took no step (the supernet is as it was).
                models.state.supernet = supernet;
                if stats.loss.is_finite() {
                    skipped_in_a_row = 0;
                    loss_sum += stats.loss as f64 * stats.images as f64;
                    correct += stats.correct;
                    seen += stats.images;
                    log.write(&SearchEvent::WeightStep {
                        round: round.number(),
                        step: step + 1,
                        loss: f64::from(stats.loss),
                        lr: lr_now,
                    })?;
                } else {
                    skipped_in_a_row += 1;
                    if self.plan.config.non_finite_loss.stops(skipped_in_a_row) {
                        let what = if skipped_in_a_row > 1 {
                            format!(
                                "the loss was not finite for {skipped_in_a_row} batches in a \
                                 row (the last: {})",
                                stats.loss
                            )
                        } else {
                            format!("the loss is {}", stats.loss)
                        };
                        return Err(self.diverged(round, step, what));
                    }
                    log.write(&SearchEvent::SkippedBatch {
                        round: round.number(),
                        step: step + 1,
                        loss: stats.loss.to_string(),
                    })?;
                }

                // Indicator step every `every` iterations, on a held-out batch.
                if (step + 1) % self.plan.config.indicator.every as u64 == 0 {
                    let k = indicator_steps as usize;
                    let held = held_loader
                        .host_batch(Position {
                            epoch: k / held_batches,
                            batch: k % held_batches,
                        })?
                        .into_batch(&self.device);
                    self.indicator_step(round, indicator_steps, &subspace, models, held)?;
                    indicator_steps += 1;
                }
                // Dropping.
                let alphas = models.state.indicators.values();
                if (step + 1) % self.plan.config.indicator.every as u64 == 0 {
                    log.write(&SearchEvent::IndicatorStep {
                        round: round.number(),
                        step: step + 1,
                        alphas: alphas.clone(),
                    })?;
                }
                if let Some((cell, op)) = non_finite(&alphas) {
                    let what = format!("indicator α[{cell}][{op}] is {}", alphas[cell][op]);
                    return Err(self.diverged(round, step, what));
                }
                let dropped = progress.evolution.drop_below(&alphas, threshold)?;
                if dropped.iter().any(|d| !d.is_empty()) {
                    log.write(&SearchEvent::Dropped {
                        round: round.number(),
                        step,
                        ops: dropped,
                    })?;
                }
                step += 1;
                progress.total_steps += 1;
                position = train_loader.next_position(batch_position);
                if let Some(b) = budget.as_mut() {
                    *b -= 1;
                }
                if step % self.plan.config.log_every as u64 == 0 || step == total {
                    let (l, a) = (
                        loss_sum / seen.max(1) as f64,
                        100.0 * correct as f64 / seen.max(1) as f64,
                    );
                    log.write(&SearchEvent::Train {
                        round: round.number(),
                        epoch: batch_position.epoch - first_epoch,
                        step,
                        loss: l,
                        accuracy: a,
                        lr: lr_now,
                        elapsed_s: self.started.elapsed().as_secs_f64(),
                    })?;
                    (loss_sum, correct, seen) = (0.0, 0, 0);
                }
            }
            // End of epoch: checkpoint.
            if position.batch != 0 {
                position = Position {
                    epoch: position.epoch + 1,
                    batch: 0,
                };
            }
            let epoch_done = position.epoch - first_epoch;
            if ended_early {
                // The checkpoint says the round's training is over: a resume goes on to the
                // evaluation, as this run does.
                position.epoch = first_epoch + epochs;
            }
            progress.phase = Phase::Train {
                position,
                step,
                indicator_steps,
            };
            if !self.plan.config.evaluation.probe.is_empty() {
                // Before the checkpoint, so that a resume after it never repeats the probe.
                let accuracies = self.probe(round.index(), &mut models.state.supernet)?;
                log.write(&SearchEvent::Probe {
                    round: round.number(),
                    epoch: epoch_done,
                    step,
                    accuracies,
                })?;
            }
            log.write(&SearchEvent::EpochEnd {
                round: round.number(),
                epoch: epoch_done,
                step,
                alphas: models.state.indicators.values(),
            })?;
            self.save_checkpoint(progress, models, log)?;
            if ended_early {
                break;
            }
        }
        Ok(false)
    }

    /// Scores every architecture of `evaluation.probe` with the round's [`Scorer`]. Only the
    /// BN statistics change, which the next train-mode steps do not read and every
    /// evaluation re-estimates, so training and the front stay what they are without it.
    pub(super) fn probe(&self, round: usize, supernet: &mut Supernet) -> Result<Vec<f64>> {
        let scorer = self.scorer(round)?;
        self.plan
            .config
            .evaluation
            .probe
            .iter()
            .map(|arch| scorer.score(supernet, arch))
            .collect()
    }

    /// The sub-space ops off `path` that the weight step `step` of a round steps with zero
    /// gradients: none when unsampled ops are frozen; with [`UnsampledOps::Momentum`] from the
    /// round's second step on, every sub-space op off the path. (The reference coasts only ops
    /// that have had a gradient in the round; taking them all keeps resume exact without a
    /// record of what was sampled, and differs only for an op not sampled in the first
    /// steps, with probability 2^-steps, by a weight decay of `lr · weight_decay`.)
    pub(super) fn coasting_ops(
        &self,
        subspace: &SubSpace,
        path: &[Vec<usize>],
        step: u64,
    ) -> Vec<Vec<usize>> {
        let coast = self.plan.config.unsampled_ops == UnsampledOps::Momentum && step > 0;
        path.iter()
            .enumerate()
            .map(|(cell, on)| {
                if !coast {
                    return Vec::new();
                }
                subspace
                    .ops(cell)
                    .iter()
                    .copied()
                    .filter(|op| !on.contains(op))
                    .collect()
            })
            .collect()
    }

    /// One indicator step of `round`, the `index`-th of the round, on the held-out batch
    /// `held` (docs/method.md §6).
    pub(super) fn indicator_step(
        &self,
        round: RoundIndex,
        index: u64,
        subspace: &SubSpace,
        models: &mut RoundModels,
        held: Batch,
    ) -> Result<()> {
        let mut rng = derive_rng(&[
            self.plan.config.training_seed(),
            STREAM_INDICATOR_STEP,
            round.stream(),
            index,
        ]);
        let state = &mut models.state;
        state.indicators = indicator_step_ranked(
            &mut state.supernet,
            state.indicators.clone(),
            &mut models.alpha_optim,
            self.plan.config.indicator.lr,
            subspace,
            &self.plan.costs,
            &self.plan.config.resource.penalty(),
            held.images,
            held.labels,
            &mut rng,
            &Workers::new(&self.devices, &*self.ranks),
        )?;
        Ok(())
    }

    /// The error of a run that diverged at `step` (0-based) of `round`, naming the last good
    /// checkpoint.
    pub(super) fn diverged(&self, round: RoundIndex, step: u64, what: String) -> SearchError {
        let last_good = match checkpoint::find(self.run_dir.path()) {
            Some(dir) => format!("the last good checkpoint is `{}`", dir.display()),
            None => "the run had written no checkpoint yet".into(),
        };
        SearchError::Diverged {
            round: round.number(),
            step: step + 1,
            what,
            last_good,
        }
    }
}

/// The first `(cell, op)` whose indicator is NaN or infinite.
fn non_finite(alphas: &[Vec<f32>]) -> Option<(usize, usize)> {
    alphas
        .iter()
        .enumerate()
        .find_map(|(cell, row)| row.iter().position(|a| !a.is_finite()).map(|op| (cell, op)))
}
