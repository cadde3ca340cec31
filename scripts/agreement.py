"""Agreement counts of one CONFORMANCE.md section, for the conformance
scripts that compare field by field (conformance_quic.py, conformance_h2c.py):
each check is counted under (fingerprint, source), and the section is the
heading, a table of the counts and the differences; `write_section` for the
scripts that build their own lines (conformance_dhcp.py, conformance_dtls13.py)."""

import os


class Tally:
    def __init__(self):
        self.counts = {}
        self.failures = []

    def check(self, what, where, ours, theirs):
        """`what` is (fingerprint, source)."""
        ok, total = self.counts.get(what, (0, 0))
        if ours == theirs:
            ok += 1
        else:
            self.failures.append(f"{what[0]} ({what[1]}) {where}: ours {ours!r}, expected {theirs!r}")
        self.counts[what] = (ok, total + 1)

    def write(self, path, heading):
        """Writes `heading` (ending with the table's header lines), one row per
        count and the differences to `path`, prints them; the exit status."""
        md = list(heading)
        for (fp, src), (ok, total) in sorted(self.counts.items()):
            md.append(f"| {fp} | {src} | {ok} | {total} |")
            print(f"{fp + ' vs ' + src:28} {ok}/{total}")
        md.append("")
        if self.failures:
            md += ["Differences:", ""] + [f"- {f}" for f in self.failures] + [""]
        for f in self.failures:
            print("MISMATCH", f)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as out:
            out.write("\n".join(md))
        return 1 if self.failures else 0


def write_section(path, lines, diffs):
    """Writes `lines` and then the differences to `path`, prints the text;
    the exit status (1 when anything differs)."""
    lines = list(lines)
    if diffs:
        lines += ["Differences:", ""] + ["- " + d for d in diffs] + [""]
    text = "\n".join(lines)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    return 1 if diffs else 0
