"""The count the attack suite keeps: per class, tries, what got through that must not, 5xx and
other failed expectations, printed as one table at the end."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    """One attack class: how many tries, how many were accepted that must not be, how many 5xx,
    and any other failed expectation (a refusal in the wrong shape, a control that did not work)."""

    name: str
    tries: int = 0
    accepted: int = 0
    server_errors: int = 0
    other: int = 0
    notes: list[str] = field(default_factory=list)

    def note(self, kind: str, what: str, count: int = 1) -> None:
        if kind == "accepted":
            self.accepted += count
        elif kind == "5xx":
            self.server_errors += count
        else:
            self.other += count
        if len(self.notes) < 400:
            self.notes.append(f"[{kind}] {what}")

    def accept(self, what: str, count: int = 1) -> None:
        """Something got through that must not (`count` times)."""
        self.note("accepted", what, count)

    def fail(self, what: str) -> None:
        """An expectation other than a refusal failed."""
        self.note("failed", what)

    def status(self, what: str, code: int) -> None:
        """Counts a 5xx (any status >= 500 is a finding, whatever else the check expects)."""
        if code >= 500:
            self.note("5xx", f"{what}: {code}")

    @property
    def findings(self) -> int:
        return self.accepted + self.server_errors + self.other


class Tally:
    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}

    def row(self, name: str) -> Row:
        return self.rows.setdefault(name, Row(name))

    def table(self) -> str:
        head = ("class", "tries", "accepted", "5xx", "other", "verdict")
        lines = [head]
        for r in self.rows.values():
            verdict = "ok" if r.findings == 0 else "FAIL"
            lines.append((r.name, str(r.tries), str(r.accepted), str(r.server_errors), str(r.other), verdict))
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        out = []
        for n, line in enumerate(lines):
            cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:], widths[1:])]
            out.append("  ".join(cells))
            if n == 0:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out)

    def details(self, per_row: int = 25) -> str:
        out = []
        for r in self.rows.values():
            if not r.notes:
                continue
            out.append(f"{r.name}:")
            for n in r.notes[:per_row]:
                out.append(f"  {n}")
            if len(r.notes) > per_row:
                out.append(f"  ... and {len(r.notes) - per_row} more")
        return "\n".join(out)

    @property
    def findings(self) -> int:
        return sum(r.findings for r in self.rows.values())
