//! The end of a round (docs/method.md §7.1–7.2): the candidates sampled in the resource
//! window, how they are scored ([`Evaluator`], by default the [`Scorer`]: BN recalibration,
//! then held-out top-1), and the candidates research code adds at a pause.

use super::*;

/// How the end of a round scores a candidate architecture: a number where higher is
/// better, which the Pareto front weighs against cost and `front.json` and the log report
/// as `accuracy`. The default is the method's (docs/method.md §7.2): BN recalibration, then
/// held-out top-1 with the inherited weights ([`Scorer`]). Research code supplies its own
/// (a zero-cost proxy, a predictor, a blend with the default) through
/// [`Search::evaluate_with`]; any `FnMut(round, &mut Supernet, &Architecture, &Scorer) ->
/// Result<f64>` closure is one.
pub trait Evaluator: Send {
    /// The score of `architecture` in round `round` (0-based), with the weights it inherits
    /// from `supernet` (whose batch-norm statistics it may change, as recalibration does).
    /// `scorer` is the round's default, for evaluators that build on it. Scores must be
    /// finite; a search resumes exactly only if the evaluator is deterministic.
    fn evaluate(
        &mut self,
        round: usize,
        supernet: &mut Supernet,
        architecture: &Architecture,
        scorer: &Scorer,
    ) -> Result<f64>;
}

impl<F> Evaluator for F
where
    F: FnMut(usize, &mut Supernet, &Architecture, &Scorer) -> Result<f64> + Send,
{
    fn evaluate(
        &mut self,
        round: usize,
        supernet: &mut Supernet,
        architecture: &Architecture,
        scorer: &Scorer,
    ) -> Result<f64> {
        self(round, supernet, architecture, scorer)
    }
}

impl Search {
    /// The candidates of the round paused at [`Pause::BeforeEvaluation`] (or interrupted in
    /// its evaluation), scored or not; an error when the latest checkpoint is not in an
    /// evaluation.
    pub fn candidates(&self) -> Result<Vec<Evaluated>> {
        match self.paused_checkpoint(Pause::BeforeEvaluation)?.1.phase {
            Phase::Evaluate { archs } => Ok(archs),
            Phase::Train { .. } => unreachable!("checked by paused_checkpoint"),
        }
    }

    /// Adds `architectures` to the candidates of the round paused at
    /// [`Pause::BeforeEvaluation`]: they are scored with the others and take part in the
    /// front. Each must fit the space and use only ops of the round's sub-space (the front
    /// evolves the sub-space from its ops); one already among the candidates is skipped.
    /// They count as window candidates ([`Origin::Window`]) whatever their cost: the window
    /// bounds only what the sampler draws. Returns how many were added.
    pub fn add_candidates(&mut self, architectures: &[Architecture]) -> Result<usize> {
        let (dir, mut progress) = self.paused_checkpoint(Pause::BeforeEvaluation)?;
        let Phase::Evaluate { archs } = &mut progress.phase else {
            unreachable!("checked by paused_checkpoint");
        };
        let subspace = progress.evolution.subspace();
        let mut added = 0;
        for (a, arch) in architectures.iter().enumerate() {
            self.plan.space.check_architecture(arch).map_err(|e| {
                SearchError::Config(format!(
                    "candidate {a} (`{arch}`) does not fit the space: {e}"
                ))
            })?;
            for (cell, ops) in arch.cells().iter().enumerate() {
                if let Some(op) = ops.iter().find(|&&op| !subspace.contains(cell, op)) {
                    return Err(SearchError::Config(format!(
                        "candidate {a} (`{arch}`): op {op} of cell {cell} is not in the round's \
                         sub-space {:?}",
                        subspace.ops(cell)
                    )));
                }
            }
            if archs.iter().any(|e| &e.architecture == arch) {
                continue;
            }
            let count = self.plan.space.architecture_cost(arch)?;
            archs.push(Evaluated {
                architecture: arch.clone(),
                origin: Origin::Window,
                cost: self.plan.costs.architecture_cost(arch.cells()),
                macs: count.total.macs,
                params: count.total.params,
                accuracy: None,
            });
            added += 1;
        }
        checkpoint::update_progress(&dir, &progress)?;
        Ok(added)
    }

    /// The [`Scorer`] of round `round` (0-based): the same recalibration and held-out
    /// batches as that round's end-of-round evaluation, so a rescored architecture gets the
    /// accuracy the search gave it (on the same device and weights).
    pub fn scorer(&self, round: usize) -> Result<Scorer> {
        let e = &self.plan.config.evaluation;
        // Fixed batches for every architecture: recalibration from the training split, scoring
        // on the held-out split, both through the evaluation pipeline (no augmentation). The
        // held-out split is shuffled once, with the run's seed, and every round scores the
        // same batches: `eval_batches` of them are then a random sample of the split, where
        // the split's own order (its dataset's: class by class in an image folder or a list)
        // would have scored the first classes only. Scored whole, the order changes nothing.
        let recal_loader = self.loader(
            &self.data.train,
            true,
            self.data.eval_pipeline.clone(),
            derive_seed(self.plan.config.seed, 3),
        )?;
        let score_loader = self.loader_keeping_last(
            &self.data.held_out,
            true,
            true,
            self.data.eval_pipeline.clone(),
            derive_seed(self.plan.config.seed, STREAM_SCORE_ORDER),
        )?;
        let recalibration = (0..e.recalibration_batches.min(recal_loader.num_batches()))
            .map(|b| {
                recal_loader.host_batch(Position {
                    epoch: round,
                    batch: b,
                })
            })
            .collect::<crate::data::Result<_>>()?;
        let score_batches = e.eval_batches.map_or(score_loader.num_batches(), |n| {
            n.min(score_loader.num_batches())
        });
        let score = (0..score_batches)
            .map(|b| score_loader.host_batch(Position { epoch: 0, batch: b }))
            .collect::<crate::data::Result<_>>()?;
        Ok(Scorer {
            recalibration,
            score,
            device: self.device.clone(),
        })
    }

    pub(super) fn sample_for_evaluation(
        &self,
        progress: &SearchState,
        state: &SupernetState,
        log: &mut RunLog<'_>,
    ) -> Result<Vec<Evaluated>> {
        let round = progress.round();
        let mut rng = derive_rng(&[self.plan.config.seed, STREAM_WINDOW, round.stream()]);
        let alphas = state.indicators.values();
        let sampler = self.window_sampler();
        let batch = sampler
            .sample(
                &self.plan.space,
                &self.plan.costs,
                progress.evolution.subspace(),
                &alphas,
                &mut rng,
            )
            .map_err(|e| match e {
                e @ nse_space::SpaceError::WindowInfeasible { .. } => {
                    SearchError::Infeasible(format!(
                        "round {}: {e}. The round's training is saved: widen `resource.drift` or \
                     move `resource.target`, or raise `evaluation.attempts_per_architecture` \
                     (now {}), in {} and resume the run",
                        round.number(),
                        self.plan.config.evaluation.attempts_per_architecture,
                        self.run_dir.config_path().display(),
                    ))
                }
                e => e.into(),
            })?;
        if batch.extra_from_sweep > 0 || batch.extra.len() < sampler.n_extra {
            let w = sampler.window;
            log.write(&SearchEvent::Warning {
                message: format!(
                    "round {}: in {} draws the learned distribution found {} distinct \
                     architectures in the extra band ({:.4}, {:.4}] {}; sparser draws found {} \
                     more, so {} of the {} extra architectures are evaluated",
                    round.number(),
                    sampler.max_attempts,
                    batch.extra.len() - batch.extra_from_sweep,
                    w.extra_low(),
                    w.low(),
                    self.plan.costs.unit,
                    batch.extra_from_sweep,
                    batch.extra.len(),
                    sampler.n_extra,
                ),
            })?;
        }
        let mut archs = Vec::new();
        let mut push = |architecture: Architecture, origin: Origin| -> Result<()> {
            let cost = self.plan.space.architecture_cost(&architecture)?.total;
            archs.push(Evaluated {
                origin,
                cost: self.plan.costs.architecture_cost(architecture.cells()),
                architecture,
                macs: cost.macs,
                params: cost.params,
                accuracy: None,
            });
            Ok(())
        };
        for a in batch.window {
            push(a.architecture, Origin::Window)?;
        }
        for a in batch.extra {
            push(a.architecture, Origin::Extra)?;
        }
        for a in progress.evolution.previous_front() {
            push(a.clone(), Origin::PreviousFront)?;
        }
        Ok(archs)
    }

    /// Scores the round's architectures; `true` when a raised [`StopFlag`] stopped it (every
    /// score so far is in the checkpoint).
    pub(super) fn evaluate_round(
        &self,
        progress: &mut SearchState,
        state: &mut SupernetState,
        log: &mut RunLog<'_>,
    ) -> Result<bool> {
        let round = progress.round();
        let Phase::Evaluate { archs } = &progress.phase else {
            unreachable!("evaluate_round is called in the evaluation phase");
        };
        let mut archs = archs.clone();
        let scorer = self.scorer(round.index())?;
        let done = archs.iter().filter(|a| a.accuracy.is_some()).count() as u64;
        log.write(&SearchEvent::PhaseStart {
            round: round.number(),
            phase: RoundPhase::Evaluation,
            done,
            total: archs.len() as u64,
        })?;
        // One candidate per device at a time: the first device scores on the supernet itself,
        // the others on replicas of it (the default scorer only; see `Search::set_devices`).
        let parallel = self.devices.len() > 1
            && self
                .evaluator
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_none();
        let (mut replicas, scorers) = if parallel {
            let replicas: Vec<Supernet> = self.devices[1..]
                .iter()
                .map(|d| nse_supernet::parallel::replica(&state.supernet, d))
                .collect();
            let scorers: Vec<Scorer> = self.devices.iter().map(|d| scorer.on(d)).collect();
            (replicas, scorers)
        } else {
            (Vec::new(), Vec::new())
        };
        let pending: Vec<usize> = (0..archs.len())
            .filter(|&i| archs[i].accuracy.is_none())
            .collect();
        let width = if parallel { self.devices.len() } else { 1 };
        // Over ranks: candidate `j` of a chunk is scored on rank `j mod size` (on its
        // devices as above), and every rank gathers every score.
        let (rank, size) = (self.ranks.rank(), self.ranks.size());
        for chunk in pending.chunks(width * size) {
            if self.stop_asked() {
                log.write(&SearchEvent::Stopped {
                    reason: StopReason::Asked,
                    phase: RoundPhase::Evaluation,
                    total_steps: progress.total_steps,
                })?;
                return Ok(true);
            }
            let owner: Vec<usize> = (0..chunk.len()).map(|j| j % size).collect();
            let mine: Vec<usize> = (0..chunk.len()).filter(|&j| owner[j] == rank).collect();
            let mine_archs: Vec<Architecture> = mine
                .iter()
                .map(|&j| archs[chunk[j]].architecture.clone())
                .collect();
            let scored = if parallel {
                score_on_devices(&mine_archs, &mut state.supernet, &mut replicas, &scorers)
            } else {
                mine_archs
                    .iter()
                    .map(|arch| self.score_one(round.index(), &mut state.supernet, arch, &scorer))
                    .collect()
            };
            let scored = agree_on(&*self.ranks, scored, "scoring candidates")?;
            let mut local = vec![0.0; chunk.len()];
            for (&j, score) in mine.iter().zip(scored) {
                local[j] = score;
            }
            let scores = gather_scores(&*self.ranks, &local, &owner);
            for (&i, accuracy) in chunk.iter().zip(scores) {
                let arch = archs[i].architecture.clone();
                archs[i].accuracy = Some(accuracy);
                log.write(&SearchEvent::Evaluated {
                    round: round.number(),
                    architecture: arch.clone(),
                    origin: archs[i].origin,
                    cost: archs[i].cost,
                    macs: archs[i].macs,
                    params: archs[i].params,
                    accuracy,
                    elapsed_s: self.started.elapsed().as_secs_f64(),
                })?;
                progress.phase = Phase::Evaluate {
                    archs: archs.clone(),
                };
                // Evaluation results are checkpointed as they come (the weights are unchanged).
                let dir = checkpoint::checkpoint_dir(self.run_dir.path());
                let mut snapshot = progress.clone();
                snapshot.log_len = log.len();
                checkpoint::update_progress(&dir, &snapshot)?;
            }
        }
        progress.phase = Phase::Evaluate { archs };
        Ok(false)
    }

    /// The score of `arch` by the custom [`Evaluator`], if one is set, else by `scorer`.
    fn score_one(
        &self,
        round: usize,
        supernet: &mut Supernet,
        arch: &Architecture,
        scorer: &Scorer,
    ) -> Result<f64> {
        let mut custom = self.evaluator.lock().unwrap_or_else(|e| e.into_inner());
        match custom.as_mut() {
            Some(evaluator) => {
                let score = evaluator.evaluate(round, supernet, arch, scorer)?;
                if !score.is_finite() {
                    return Err(SearchError::Config(format!(
                        "the evaluator scored `{arch}` {score}: scores must be finite"
                    )));
                }
                Ok(score)
            }
            None => scorer.score(supernet, arch),
        }
    }
}

/// Scores `archs[k]` with `scorers[k]` on the supernet (k = 0) or `replicas[k - 1]`, each in
/// a thread of its own; the scores in the order of `archs`.
fn score_on_devices(
    archs: &[Architecture],
    supernet: &mut Supernet,
    replicas: &mut [Supernet],
    scorers: &[Scorer],
) -> Result<Vec<f64>> {
    let nets = std::iter::once(supernet).chain(replicas.iter_mut());
    let results: Vec<Result<f64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = archs
            .iter()
            .zip(nets)
            .zip(scorers)
            .map(|((arch, net), scorer)| scope.spawn(move || scorer.score(net, arch)))
            .collect();
        handles
            .into_iter()
            .zip(archs)
            .map(|(handle, arch)| {
                handle.join().unwrap_or_else(|_| {
                    Err(SearchError::Config(format!(
                        "scoring `{arch}` on a replica panicked"
                    )))
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

/// Scores architectures with the weights they inherit from a supernet, as the end-of-round
/// evaluation does (docs/method.md §7.2): BN recalibration on fixed training batches, then
/// top-1 in percent on fixed held-out batches in eval mode. Made by [`Search::scorer`].
pub struct Scorer {
    recalibration: Vec<HostBatch>,
    score: Vec<HostBatch>,
    device: Device,
}

impl Scorer {
    /// The same batches, fed to a supernet on `device` (a replica of the search's).
    pub fn on(&self, device: &Device) -> Scorer {
        Scorer {
            recalibration: self.recalibration.clone(),
            score: self.score.clone(),
            device: device.clone(),
        }
    }

    /// Recalibrates the batch norms that `arch` uses in `supernet` and returns its held-out
    /// top-1 in percent. Only those BN statistics change.
    pub fn score(&self, supernet: &mut Supernet, arch: &Architecture) -> Result<f64> {
        Ok(self.score_detailed(supernet, arch)?.top1)
    }

    /// [`score`](Self::score), with the held-out cross-entropy beside the top-1 (from the
    /// same forward passes).
    pub fn score_detailed(&self, supernet: &mut Supernet, arch: &Architecture) -> Result<Score> {
        let batches = self
            .recalibration
            .iter()
            .map(|b| b.clone().into_batch(&self.device).images);
        recalibrate(supernet, arch.cells(), batches)?;
        let eval = supernet.valid();
        let plain = self.device.clone().without_autodiff();
        let (mut correct, mut total, mut loss_sum) = (0usize, 0usize, 0.0f64);
        for b in &self.score {
            let b = b.clone().into_batch(&plain);
            let logits = eval.forward(b.images, arch.cells())?;
            let [n, classes] = logits.dims();
            let loss = cross_entropy_with_logits(
                logits.clone(),
                b.labels.clone().one_hot(classes).float(),
            );
            loss_sum += f64::from(loss.into_scalar::<f32>()) * n as f64;
            total += n;
            correct += top_k_correct(logits, b.labels, 1);
        }
        let images = total.max(1) as f64;
        Ok(Score {
            top1: 100.0 * correct as f64 / images,
            loss: loss_sum / images,
        })
    }

    /// Held-out images each architecture is scored on.
    pub fn images(&self) -> usize {
        self.score.iter().map(|b| b.labels.len()).sum()
    }

    /// How many of those images each class has (index: class; up to the greatest class
    /// scored): a random sample of the held-out split, stratified by nothing but chance.
    pub fn images_per_class(&self) -> Vec<usize> {
        let mut counts = Vec::new();
        for &label in self.score.iter().flat_map(|b| &b.labels) {
            let class = usize::try_from(label).expect("class labels are not negative");
            if counts.len() <= class {
                counts.resize(class + 1, 0);
            }
            counts[class] += 1;
        }
        counts
    }
}

/// What [`Scorer::score_detailed`] measured on the held-out batches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Top-1 accuracy, percent.
    pub top1: f64,
    /// Mean cross-entropy per image.
    pub loss: f64,
}
