"""Regenerates docs/screens/done-flow.md: the done flow driven by keys in tmux at 80x24."""
import subprocess, time, sys
S=["tmux","-L","flow","-f","/dev/null"]
def t(*a): return subprocess.run(S+list(a),capture_output=True,text=True,check=True).stdout
def wait(text, timeout=20):
    end=time.monotonic()+timeout
    while time.monotonic()<end:
        sc=t("capture-pane","-p","-t","w")
        if text in sc: return sc
        time.sleep(0.1)
    raise SystemExit(f"missing {text!r}:\n{sc}")
t("new-session","-d","-s","w","-x","80","-y","24",f"TERM=xterm-256color {sys.executable} -m workbench --db /tmp/flow.db --no-api")
t("set-option","-s","escape-time","10")
out=[]
def snap(title, keys, until):
    for k in keys:
        if k.startswith("-l "): t("send-keys","-t","w","-l",k[3:])
        else: t("send-keys","-t","w",k)
        time.sleep(0.15)
    sc=wait(until); time.sleep(0.4); sc=t("capture-pane","-p","-t","w")
    out.append(f"### {title}\n\nKeys: `{' '.join(keys) or '(launch)'}`\n\n```\n{sc.rstrip()}\n```\n")
snap("1. The list: the incident is on top", [], "Checkout payments failing")
snap("2. Enter: its timeline (linked events, histogram by source)", ["Enter"], "linked events")
snap("3. Tab: the details (MTTR so far and its formula, suspects)", ["Tab"], "MTTR so far")
snap("4. Tab back, Enter on the first error: body with the stack trace", ["Tab","Enter"], "Traceback")
snap("5. c: the commit that preceded it", ["c"], "kind              commit")
snap("6. Esc Esc: back on the timeline, exactly where it was", ["Escape","Escape"], "linked events")
snap("7. n: the note prompt", ["n"], "Note (becomes")
snap("8. type, Enter: the note is on the timeline as a manual event (J jumps to it)", ["-l pool size back to 20 (revert of 9f3c2e1)", "Enter"], "note added")
snap("9. s r: resolved", ["s","r"], "status: resolved")
t("kill-server")
open("/work/main/docs/screens/done-flow.md","w").write("# The done flow, by keys, at 80x24 (tmux capture-pane)\n\nDemo store built with a fixed clock (`tests/tui/conftest.py::seed`).\n\n"+"\n".join(out))
