//! [`Terminal`]: progress bars on an interactive terminal, plain lines elsewhere.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Reporter;

/// Formats a duration as `m:ss` or `h:mm:ss`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The task a plain-mode [`Terminal`] is tracking.
struct PlainTask {
    label: String,
    total: u64,
    position: u64,
    message: String,
    start: Instant,
    last_print: Instant,
}

impl PlainTask {
    /// `label: 120/500 (24%) 35.2/s ETA 0:11 loss 1.23`.
    fn status(&self) -> String {
        let elapsed = self.start.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            self.position as f64 / elapsed
        } else {
            0.0
        };
        let mut s = format!("{}: {}/{}", self.label, self.position, self.total);
        if self.total > 0 {
            s += &format!(
                " ({:.0}%)",
                100.0 * self.position as f64 / self.total as f64
            );
        }
        s += &format!(" {rate:.1}/s");
        if rate > 0.0 && self.position < self.total {
            let eta = (self.total - self.position) as f64 / rate;
            s += &format!(" ETA {}", clock(Duration::from_secs_f64(eta)));
        } else {
            s += &format!(" elapsed {}", clock(self.start.elapsed()));
        }
        if !self.message.is_empty() {
            s += " ";
            s += &self.message;
        }
        s
    }
}

/// How a [`Terminal`] draws.
enum Mode {
    /// An indicatif bar on an interactive terminal.
    Bar(Option<ProgressBar>),
    /// Plain lines to a writer, at most one progress line per interval.
    Plain {
        out: Box<dyn Write + Send>,
        interval: Duration,
        task: Option<PlainTask>,
    },
}

/// Progress on the terminal: a bar (`label [=====>   ] 120/500 35.2/s ETA 0:11 message`)
/// when stderr is an interactive terminal, otherwise plain lines on stderr at most every
/// [`Terminal::PLAIN_INTERVAL`] (plus one when a task finishes). Log lines
/// ([`Reporter::line`]) always go to stderr, above the bar.
pub struct Terminal {
    mode: Mode,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.mode {
            Mode::Bar(_) => "bar",
            Mode::Plain { .. } => "plain",
        };
        f.debug_struct("Terminal").field("mode", &mode).finish()
    }
}

impl Default for Terminal {
    fn default() -> Self {
        Self::new()
    }
}

impl Terminal {
    /// Interval between plain progress lines when stderr is not a terminal.
    pub const PLAIN_INTERVAL: Duration = Duration::from_secs(10);

    /// A bar on stderr if it is an interactive terminal, plain lines otherwise.
    pub fn new() -> Self {
        if std::io::stderr().is_terminal() {
            Terminal {
                mode: Mode::Bar(None),
            }
        } else {
            Self::plain(Box::new(std::io::stderr()), Self::PLAIN_INTERVAL)
        }
    }

    /// Plain lines to `out`: a progress line at most every `interval` (and one at the end of
    /// each task), and every [`Reporter::line`]. No control characters.
    pub fn plain(out: Box<dyn Write + Send>, interval: Duration) -> Self {
        Terminal {
            mode: Mode::Plain {
                out,
                interval,
                task: None,
            },
        }
    }

    /// Whether this reporter draws an interactive bar.
    pub fn is_interactive(&self) -> bool {
        matches!(self.mode, Mode::Bar(_))
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix} [{bar:30}] {pos}/{len} {per_sec:1} ETA {eta_precise} {wide_msg}",
    )
    .expect("valid progress template")
    .progress_chars("=> ")
}

impl Reporter for Terminal {
    fn begin(&mut self, label: &str, total: u64) {
        self.finish();
        match &mut self.mode {
            Mode::Bar(bar) => {
                let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                b.set_style(bar_style());
                b.set_prefix(label.to_string());
                *bar = Some(b);
            }
            Mode::Plain { task, .. } => {
                let now = Instant::now();
                *task = Some(PlainTask {
                    label: label.to_string(),
                    total,
                    position: 0,
                    message: String::new(),
                    start: now,
                    last_print: now,
                });
            }
        }
    }

    fn advance(&mut self, n: u64, message: &str) {
        match &mut self.mode {
            Mode::Bar(Some(bar)) => {
                if !message.is_empty() {
                    bar.set_message(message.to_string());
                }
                bar.inc(n);
            }
            Mode::Bar(None) => {}
            Mode::Plain {
                out,
                interval,
                task: Some(task),
            } => {
                task.position += n;
                if !message.is_empty() {
                    task.message = message.to_string();
                }
                if task.last_print.elapsed() >= *interval {
                    task.last_print = Instant::now();
                    let _ = writeln!(out, "{}", task.status());
                }
            }
            Mode::Plain { task: None, .. } => {}
        }
    }

    fn finish(&mut self) {
        match &mut self.mode {
            Mode::Bar(bar) => {
                if let Some(bar) = bar.take() {
                    bar.finish();
                }
            }
            Mode::Plain { out, task, .. } => {
                if let Some(task) = task.take() {
                    let _ = writeln!(out, "{}", task.status());
                    let _ = out.flush();
                }
            }
        }
    }

    fn line(&mut self, text: &str) {
        match &mut self.mode {
            Mode::Bar(Some(bar)) => bar.suspend(|| eprintln!("{text}")),
            Mode::Bar(None) => eprintln!("{text}"),
            Mode::Plain { out, .. } => {
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Mode::Bar(Some(bar)) = &self.mode {
            bar.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer whose contents the test can read.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn plain_mode_prints_throttled_lines_without_control_characters() {
        let out = Shared::default();
        // A long interval: no periodic line, only the one at the end of the task.
        let mut t = Terminal::plain(Box::new(out.clone()), Duration::from_secs(3600));
        assert!(!t.is_interactive());
        t.begin("epoch 1/2", 100);
        for _ in 0..100 {
            t.advance(1, "loss 1.23 acc 45.6%");
        }
        t.line("epoch 1: test top-1 50.0%");
        t.finish();
        t.finish(); // a second finish prints nothing
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        // `line` finishes nothing: the task summary comes at `finish`.
        assert_eq!(lines[0], "epoch 1: test top-1 50.0%");
        assert!(
            lines[1].starts_with("epoch 1/2: 100/100 (100%) "),
            "{}",
            lines[1]
        );
        assert!(lines[1].ends_with(" loss 1.23 acc 45.6%"), "{}", lines[1]);
        assert!(!text.contains('\r') && !text.contains('\x1b'));

        // A zero interval: one line per advance.
        let out = Shared::default();
        let mut t = Terminal::plain(Box::new(out.clone()), Duration::ZERO);
        t.begin("eval", 4);
        t.advance(2, "");
        t.advance(2, "");
        t.finish();
        let text = out.text();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.lines().next().unwrap().starts_with("eval: 2/4 (50%) "));
        assert!(text.lines().next().unwrap().contains(" ETA "));
    }

    #[test]
    fn clock_formats() {
        assert_eq!(clock(Duration::from_secs(71)), "1:11");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03");
    }
}
