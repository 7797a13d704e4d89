"""What bash, zsh and fish offer for a command line, each in the real shell
with mqtk's completions from completions/: bash with Debian's
bash-completion and COMP_WORDS set as readline would, zsh interactively on a
pseudo-terminal (zsh_complete.zsh), fish through `complete -C` with the
completions found by its own autoloading (fish_complete_path)."""

import os
import shlex
import shutil
import subprocess
import tempfile

from mqtk_testing import BIN_DIR, TIMEOUT

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COMPLETIONS = os.path.join(ROOT, "completions")
BASH_SCRIPT = os.path.join(COMPLETIONS, "mqtk.bash")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
ZSH_HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zsh_complete.zsh")
COMMANDS = ("mqtk", "mqtk-pub", "mqtk-sub", "mqtk-retain-clear", "mqtk-sys-monitor", "mqtk-bench")
ZSH = shutil.which("zsh")
FISH = shutil.which("fish")


def _words(line):
    return shlex.split(line) + ([""] if line.endswith(" ") or not line else [])


def bash_complete(line, cwd=None, script=BASH_SCRIPT):
    """The candidates bash offers for `line` (the cursor at its end), from the
    function that `complete -p` names for its command."""
    words = _words(line)
    program = "\n".join([
        f"source {shlex.quote(BASH_COMPLETION)}",
        f"source {shlex.quote(script)}",
        "COMP_WORDS=(" + " ".join(shlex.quote(w) for w in words) + ")",
        f"COMP_CWORD={len(words) - 1}",
        f"COMP_LINE={shlex.quote(line)}",
        f"COMP_POINT={len(line)}",
        f"spec=$(complete -p {shlex.quote(words[0])}) || exit 3",
        'func=${spec#*-F }; func=${func%% *}',
        f'"$func" {shlex.quote(words[0])} {shlex.quote(words[-1])} {shlex.quote(words[-2] if len(words) > 1 else "")}',
        'printf "%s\\n" "${COMPREPLY[@]}"',
    ])
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, timeout=TIMEOUT,
                       cwd=cwd)
    if r.returncode != 0:
        raise AssertionError(f"bash failed for {line!r}: {r.stderr.decode(errors='replace')}")
    return [c for c in r.stdout.decode().split("\n") if c]


def zsh_complete(lines, cwd=None, fpath=COMPLETIONS):
    """{line: the matches zsh offers} for each of `lines`, in one zsh."""
    env = dict(os.environ, PATH=BIN_DIR + os.pathsep + os.environ.get("PATH", ""), TERM="dumb")
    r = subprocess.run([ZSH, "-f", ZSH_HELPER, fpath] + list(lines), capture_output=True, timeout=TIMEOUT * 2,
                       cwd=cwd, env=env)
    if r.returncode != 0:
        raise AssertionError(f"zsh failed: {r.stderr.decode(errors='replace')}")
    blocks = r.stdout.decode(errors="replace").split("=== end\n")
    if len(blocks) != len(lines) + 1:
        raise AssertionError(f"zsh answered {len(blocks) - 1} of {len(lines)} lines: {r.stdout!r}")
    return {line: [c for c in block.split("\n") if c] for line, block in zip(lines, blocks)}


def fish_directory():
    """A directory laid out as cmake --install lays out fish's completions:
    mqtk.fish and one link per tool (fish loads CMD.fish for CMD)."""
    d = tempfile.mkdtemp(prefix="mqtk-fish-")
    for command in COMMANDS:
        os.symlink(os.path.join(COMPLETIONS, "mqtk.fish"), os.path.join(d, command + ".fish"))
    return d


def fish_complete(lines, cwd=None, directory=None):
    """{line: the candidates fish offers} for each of `lines`, in one fish.
    fish autoloads a command's completions only when the command exists, so
    the built tools are put on PATH."""
    d = directory or fish_directory()
    try:
        script = [f"set -p fish_complete_path {shlex.quote(d)}"]
        for line in lines:
            script.append(f"complete -C {shlex.quote(line)}; echo '=== end'")
        env = dict(os.environ, PATH=BIN_DIR + os.pathsep + os.environ.get("PATH", ""))
        r = subprocess.run([FISH, "--no-config", "-c", "\n".join(script)], capture_output=True,
                           timeout=TIMEOUT * 2, cwd=cwd, env=env)
    finally:
        if directory is None:
            shutil.rmtree(d, ignore_errors=True)
    if r.returncode != 0 or r.stderr:
        raise AssertionError(f"fish failed: {r.stderr.decode(errors='replace')}")
    blocks = r.stdout.decode(errors="replace").split("=== end\n")
    return {line: [c.split("\t")[0] for c in block.split("\n") if c] for line, block in zip(lines, blocks)}
