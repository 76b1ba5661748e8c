#!/usr/bin/env python3
"""Runs every command of the user guide (docs/guide), in the guide's order, with small settings.

    scripts/guide-commands.py [--list] [--scratch DIR] [--only TEXT]

Commands are the lines of the guide's ```sh blocks (a trailing backslash continues a line);
```text blocks are illustrations that are not run, and each command line in them must say
why ("# not run by the guide check: REASON"), which this script checks. Each command is
changed as follows before it runs (the changes are printed with it):

- `runs/...` becomes SCRATCH/runs/... (a checkout's own runs/ is left alone), `../shared/`
  an absolute path; `nse` and `python` run in SCRATCH, `cargo` in the checkout;
- `/data/cifar10` becomes a CIFAR-10 tree extracted from ../shared/data, `/data/imagenet` an
  ImageNet-like tree made from it (made once, when a command first needs it);
- GPU devices (`--device cuda:0`, `wgpu`, `--devices cuda:0,cuda:1`) become the CPU (`cpu`,
  `cpu,cpu`): CI has no GPU;
- `mpirun -np N [options] nse ...` runs N ranks on this machine over TCP, as between
  machines (`--hostfile` and the other launcher options are dropped), with the `nse` built
  with `--features mpi` (TARGET/nse-mpi, built when a command needs it);
- `nse` is the binary built from this checkout, `python` the virtual environment with torch
  (scripts/pytorch-venv.sh), `cargo install` installs into SCRATCH with the dev profile;
- searches, retrainings, experiments and latency tables get small settings (one short round,
  one epoch, one timed pass), appended after the guide's own options so that they win.

Exits with 1 at the first failing command, printing its output.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guide"
SHARED = ROOT.parent / "shared" / "data"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", "/var/tmp/nse-target"))
TIMEOUT = 900
NOT_RUN = "# not run by the guide check:"

SMALL_SEARCH = ("--set max_rounds=1 --set epochs_per_round=1 --set epoch_batches=10 "
                "--set evaluation.n=3 --set evaluation.n_extra=1 --quiet")
# Image-folder presets: a handful of small batches, no extra band (a few steps leave the
# indicators untrained, and the band below the window is rarely hit), and more draws per
# wanted architecture: untrained indicators reach the cifar10 preset's window, at the cheap
# edge of its space, about once in 600 draws, so the default 200 per architecture fills it
# on some CPUs and not on others (an Intel Xeon found 1 of 3); 5,000 fill it anywhere in a
# fraction of a second. The ImageNet presets' MAC window is widened as in .ci/run (a few
# steps do not train the indicators towards 300 MMACs).
SMALL_IMAGES = ("--set batch_size=4 --set evaluation.recalibration_batches=1 --set evaluation.n_extra=0 "
                "--set evaluation.eval_batches=1 --set data.holdout_fraction=0.25 "
                "--set evaluation.attempts_per_architecture=5000")
SMALL_IMAGENET = "--set resource.target=1500 --set resource.drift=1400 --set resource.extra_drift=0"
SMALL_RETRAIN = "--set epochs=1 --set warmup_epochs=0 --quiet"
SMALL_EXPERIMENT = "--retrain-set epochs=1 --retrain-set warmup_epochs=0 --quiet"
SMALL_EXPERIMENT_SEARCH = "--set max_rounds=1 --set epochs_per_round=1 --set epoch_batches=10"
SMALL_LATENCY = "--warmup 0 --repeats 1 --quiet"
# Ranks on this machine, over TCP as between machines (.ci/run's MPI step does the same).
MPI_LOCAL = ["--oversubscribe", "--allow-run-as-root", "--mca", "btl", "tcp,self"]


def chapters():
    """The guide's chapters in the order of its index (README.md), the index first."""
    index = (GUIDE / "README.md").read_text()
    names = re.findall(r"^\d+\. \[[^\]]+\]\(([\w-]+\.md)\)", index, re.M)
    missing = sorted(p.name for p in GUIDE.glob("*.md") if p.name not in names + ["README.md"])
    if missing:
        sys.exit(f"chapters not in the guide's index: {missing}")
    return [GUIDE / "README.md"] + [GUIDE / n for n in names]


def blocks(path):
    """(language, first line number, lines) of every fenced code block of a Markdown file."""
    out, lang, start, body = [], None, 0, []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence and lang is None:
            lang, start, body = fence.group(1), number + 1, []
        elif line.strip() == "```" and lang is not None:
            out.append((lang, start, body))
            lang = None
        elif lang is not None:
            body.append(line)
    return out


def commands(path):
    """(line number, command) of the sh blocks; checks the text blocks' reasons."""
    found = []
    for lang, start, body in blocks(path):
        if lang == "text":
            for offset, line in enumerate(body):
                if re.match(r"^\s*(nse|cargo|scripts/|python)", line) and NOT_RUN not in line:
                    sys.exit(f"{path.name}:{start + offset}: a command in a text block without "
                             f"'{NOT_RUN} REASON': {line}")
            continue
        if lang != "sh":
            continue
        pending, first = "", None
        for offset, line in enumerate(body):
            if first is None:
                first = start + offset
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            text = (pending + line).strip()
            pending = ""
            if text and not text.startswith("#"):
                found.append((first, text))
            first = None
    return found


class Context:
    def __init__(self, scratch):
        self.scratch = scratch
        self.nse = TARGET / "debug" / "nse"
        self.nse_mpi = TARGET / "nse-mpi"
        self.python = None
        self.trees = {}

    def tree(self, name):
        """The data tree standing for /data/NAME, made once."""
        if name in self.trees:
            return self.trees[name]
        base = self.scratch / "data"
        base.mkdir(parents=True, exist_ok=True)
        archive = SHARED / "cifar10" / "cifar10_jpg_q75.tar.gz"
        if name == "cifar10":
            tree = base / "cifar10"
            # As the guide does it (`nse data extract`): a later guide command that extracts
            # into /data/cifar10 then finds its marker and reuses the tree.
            subprocess.run([str(self.nse), "data", "extract", "--archive", str(archive),
                            "--out", str(tree)], check=True, stdout=subprocess.DEVNULL)
        elif name == "imagenet":
            tree = base / "imagenet"
            if not (tree / "train").is_dir():
                subprocess.run(
                    ["cargo", "run", "-q", "-p", "nse-data", "--example", "make_imagenet_like", "--",
                     "--archive", str(archive), "--out", str(tree),
                     "--train-per-class", "6", "--test-per-class", "2"],
                    cwd=ROOT, check=True)
        else:
            sys.exit(f"no stand-in for /data/{name}")
        self.trees[name] = tree
        return tree

    def rewrite(self, command):
        """The command as run here, and the list of changes made."""
        changes = []
        words = shlex.split(command, comments=True)
        text = shlex.join(words)

        def sub(pattern, replace, why, flags=0):
            nonlocal text
            new = re.sub(pattern, replace, text, flags=flags)
            if new != text:
                changes.append(why)
                text = new

        sub(r"(?<![\w/.-])runs/", f"{self.scratch}/runs/", "runs/ in the scratch folder")
        sub(r"(?<![\w/.-])\.\./shared/", f"{SHARED.parent}/", "../shared: the absolute path")
        for name in ("cifar10", "imagenet"):
            stand_in = rf"(?<![\w.-])/data/{name}\b"  # not ../shared/data/NAME
            if re.search(stand_in, text):
                sub(stand_in, str(self.tree(name)), f"/data/{name}: a stand-in tree")
        sub(r"--device (cuda|wgpu)(:\d+)?\b", "--device cpu", "GPU device: the CPU")
        sub(r"--devices (cuda|wgpu)(:\d+)?(,(cuda|wgpu)(:\d+)?)*(?![\w:,])",
            lambda m: "--devices " + ",".join(["cpu"] * (m.group(0).count(",") + 1)),
            "GPU devices: CPU replicas")
        words = shlex.split(text)
        head = words[0]
        if head == "mpirun":
            if "nse" not in words:
                sys.exit(f"an mpirun command that starts no nse: {command}")
            at = words.index("nse")
            ranks = words[words.index("-np") + 1] if "-np" in words[:at] else "2"
            inner, inner_changes = self.rewrite(shlex.join(words[at:]))
            inner[0] = str(self.nse_mpi)
            changes.append(f"mpirun: {ranks} ranks on this machine over TCP, nse built with "
                           "--features mpi (launcher options dropped)")
            return ["mpirun", "-np", ranks] + MPI_LOCAL + inner, changes + inner_changes
        if head == "nse":
            words[0] = str(self.nse)
            sub_cmd = words[1] if len(words) > 1 else ""
            extra = ""
            if sub_cmd == "search" and "--resume" not in words:
                extra = SMALL_SEARCH
                if any(w.startswith("imagenet") or w == "cifar10" for w in words):
                    extra += " " + SMALL_IMAGES
                if any(w.startswith("imagenet") for w in words):
                    extra += " " + SMALL_IMAGENET
            elif sub_cmd == "retrain":
                extra = SMALL_RETRAIN
            elif sub_cmd == "experiment" and words[2:3] in (["compare"], ["known-answer"]):
                extra = ""  # they read finished runs: nothing is trained
            elif sub_cmd == "experiment":
                extra = SMALL_EXPERIMENT
                if "--run" not in words:
                    extra += " " + SMALL_EXPERIMENT_SEARCH
            elif sub_cmd == "latency":
                extra = SMALL_LATENCY
            elif sub_cmd in ("eval", "export"):
                extra = "--quiet"
            if extra:
                words += shlex.split(extra)
                changes.append(f"small settings: {extra}")
        elif head == "python":
            if self.python is None:
                self.python = subprocess.run(
                    [str(ROOT / "scripts" / "pytorch-venv.sh")], check=True,
                    capture_output=True, text=True).stdout.strip()
            words[0] = self.python
            changes.append("python: the venv with torch")
        elif head == "cargo" and len(words) > 1 and words[1] == "install":
            words += ["--debug", "--root", str(self.scratch / "cargo-root")]
            changes.append("cargo install: dev profile, into the scratch folder")
        return words, changes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--scratch", type=Path, default=Path("/var/tmp/nse-guide-check"))
    parser.add_argument("--only", help="run only commands containing this text")
    args = parser.parse_args()

    found = [(path, line, cmd) for path in chapters() for line, cmd in commands(path)]
    if args.list:
        for path, line, cmd in found:
            print(f"{path.name}:{line}: {cmd}")
        print(f"{len(found)} commands")
        return 0
    scratch = args.scratch.resolve()
    if (scratch / "runs").exists():
        subprocess.run(["rm", "-rf", str(scratch / "runs"), str(scratch / "cargo-root")], check=True)
    scratch.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
    os.environ.update(env)
    if any(cmd.startswith("mpirun") for _, _, cmd in found):
        # The MPI build first, copied aside: the plain build below then only relinks.
        subprocess.run(["cargo", "build", "-q", "-p", "nse", "--features", "mpi", "--bin", "nse"],
                       cwd=ROOT, check=True)
        subprocess.run(["cp", str(TARGET / "debug" / "nse"), str(TARGET / "nse-mpi")], check=True)
    subprocess.run(["cargo", "build", "-q", "-p", "nse", "--bin", "nse"], cwd=ROOT, check=True)
    context = Context(scratch)
    total = time.time()
    ran = 0
    for path, line, cmd in found:
        if args.only and args.only not in cmd:
            continue
        words, changes = context.rewrite(cmd)
        print(f"\n--- {path.name}:{line}: {cmd}", flush=True)
        for change in changes:
            print(f"    ({change})", flush=True)
        start = time.time()
        # nse and python run in the scratch folder, so that files a command makes beside
        # itself (the demo-latency preset's table in latency/) stay out of the checkout;
        # cargo runs in the checkout.
        cwd = ROOT if cmd.startswith("cargo") else scratch
        try:
            result = subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True,
                                    timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"FAILED: timed out after {TIMEOUT} s")
            return 1
        if result.returncode != 0:
            print(result.stdout[-4000:])
            print(result.stderr[-4000:])
            print(f"FAILED (exit {result.returncode}): {shlex.join(words)}")
            return 1
        ran += 1
        last = [l for l in result.stdout.splitlines() if l.strip()][-1:] or ["(no output)"]
        print(f"    ok in {time.time() - start:.0f} s: {last[0][:160]}", flush=True)
    print(f"\nguide: {ran} commands ran in {time.time() - total:.0f} s")
    # The runs are large (checkpoints); the data trees stay as a cache for the next call.
    subprocess.run(["rm", "-rf", str(scratch / "runs"), str(scratch / "cargo-root"),
                    str(scratch / "latency")], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
