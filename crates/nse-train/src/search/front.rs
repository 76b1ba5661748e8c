//! A round's Pareto front (docs/method.md §7.3) and everything made of it: its entries, the
//! chart points of the round's candidates, `front.json`, and the report's table rows.

use std::fmt::Write as _;

use nse_space::{Architecture, Candidate, CostKind, Origin, pareto_front};

use crate::plot::PlotPoint;
use crate::search::error::Result;
use crate::search::plan::SearchPlan;
use crate::search::report::{FrontEntry, FrontFile};
use crate::search::round::Evaluated;

/// The Pareto-optimal architectures of a round: lowest cost and highest score, the extra
/// band's candidates excluded as the method says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Front {
    entries: Vec<FrontEntry>,
}

impl Front {
    /// The front of a round's scored candidates `archs` (an unscored one counts as 0), its
    /// entries described in `plan`'s space and metric, cost ascending.
    pub fn of(archs: &[Evaluated], plan: &SearchPlan) -> Result<Self> {
        let candidates: Vec<Candidate> = archs
            .iter()
            .map(|a| {
                Candidate::new(
                    a.architecture.clone(),
                    a.cost,
                    a.accuracy.unwrap_or(0.0),
                    a.origin,
                )
            })
            .collect();
        let latency = plan.config().resource.metric == CostKind::Latency;
        let entries = pareto_front(&candidates)?
            .into_iter()
            .map(|i| {
                let a = &archs[i];
                FrontEntry {
                    architecture: a.architecture.clone(),
                    text: a.architecture.to_string(),
                    ops: a.architecture.describe(plan.space()),
                    macs: a.macs,
                    params: a.params,
                    latency: latency.then_some(a.cost),
                    accuracy: a.accuracy.unwrap_or(0.0),
                }
            })
            .collect();
        Ok(Front { entries })
    }

    /// A front of known entries (read from `front.json` or the log).
    pub fn new(entries: Vec<FrontEntry>) -> Self {
        Front { entries }
    }

    /// Its entries, cost ascending.
    pub fn entries(&self) -> &[FrontEntry] {
        &self.entries
    }

    /// Its entries, given back.
    pub fn into_entries(self) -> Vec<FrontEntry> {
        self.entries
    }

    /// Its architectures (what the next round keeps).
    pub fn architectures(&self) -> Vec<Architecture> {
        self.entries
            .iter()
            .map(|e| e.architecture.clone())
            .collect()
    }

    /// Whether `architecture` is on the front.
    pub fn contains(&self, architecture: &Architecture) -> bool {
        self.entries.iter().any(|e| &e.architecture == architecture)
    }

    /// The chart points of a round's candidates (`(architecture, cost, score, origin)`),
    /// those on this front marked.
    pub fn chart_points<'a>(
        &self,
        candidates: impl IntoIterator<Item = (&'a Architecture, f64, f64, Origin)>,
    ) -> Vec<PlotPoint> {
        candidates
            .into_iter()
            .map(|(architecture, cost, accuracy, origin)| PlotPoint {
                cost,
                accuracy,
                on_front: self.contains(architecture),
                extra: origin == Origin::Extra,
            })
            .collect()
    }

    /// `front.json` of this front after `rounds` rounds of `plan`'s search.
    pub fn file(&self, plan: &SearchPlan, rounds: usize) -> FrontFile {
        FrontFile {
            space: plan.config().space.clone(),
            metric: plan.config().resource.metric,
            unit: Some(plan.costs().unit.clone()),
            rounds,
            front: self.entries.clone(),
        }
    }

    /// The report's table rows, one `<tr>` per entry (with a latency column when
    /// `latency`), the entries' text escaped with `escape`.
    pub fn report_rows(&self, latency: bool, escape: impl Fn(&str) -> String) -> String {
        let mut rows = String::new();
        for (i, e) in self.entries.iter().enumerate() {
            let latency = match (latency, e.latency) {
                (true, Some(l)) => format!("<td class=\"num\">{l:.2}</td>"),
                (true, None) => "<td>—</td>".into(),
                _ => String::new(),
            };
            let _ = writeln!(
                rows,
                "<tr><td>{i}</td><td class=\"num\">{:.2}</td><td class=\"num\">{:.3}</td>{latency}\
                 <td class=\"num\">{:.2}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                e.macs as f64 / 1e6,
                e.params as f64 / 1e6,
                e.accuracy,
                escape(&e.text),
                escape(&e.ops)
            );
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::SearchConfig;

    #[test]
    fn the_front_keeps_the_pareto_optimal_and_builds_its_file_points_and_rows() {
        let plan = SearchConfig::preset("demo").unwrap().check().unwrap();
        let space = plan.space();
        let arch = |op: usize| Architecture::new(vec![vec![op]; space.num_cells()]).unwrap();
        let evaluated = |op: usize, cost: f64, accuracy: f64, origin| Evaluated {
            architecture: arch(op),
            origin,
            cost,
            macs: (cost * 1e6) as u64,
            params: 1000,
            accuracy: Some(accuracy),
        };
        let archs = vec![
            evaluated(0, 3.0, 40.0, Origin::Window),
            evaluated(1, 4.0, 35.0, Origin::Window), // dominated by op 0
            evaluated(2, 5.0, 45.0, Origin::Window),
            evaluated(3, 2.0, 50.0, Origin::Extra), // the extra band: never on the front
        ];
        let front = Front::of(&archs, &plan).unwrap();
        let on: Vec<&Architecture> = front.entries().iter().map(|e| &e.architecture).collect();
        assert_eq!(on, [&arch(0), &arch(2)]);
        assert!(front.contains(&arch(2)) && !front.contains(&arch(1)));
        let points = front.chart_points(
            archs
                .iter()
                .map(|a| (&a.architecture, a.cost, a.accuracy.unwrap(), a.origin)),
        );
        let marked: Vec<(bool, bool)> = points.iter().map(|p| (p.on_front, p.extra)).collect();
        assert_eq!(
            marked,
            [(true, false), (false, false), (true, false), (false, true)]
        );
        let file = front.file(&plan, 2);
        assert_eq!((file.rounds, file.front.len()), (2, 2));
        assert_eq!(file.unit.as_deref(), Some("MMACs"));
        let rows = front.report_rows(false, |t| t.replace('|', "&#124;"));
        assert_eq!(rows.matches("<tr>").count(), 2);
        assert!(rows.contains("<td class=\"num\">40.00</td>") && rows.contains("&#124;"));
    }
}
