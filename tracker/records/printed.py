"""What the printable copy says: its title and the actions grouped by who will do them.

Plain functions of the record's rows; the template lays them out. The model
forms in the guidance head a copy "Written Agreement Between McCarthy Family,
Children Social Care Fenland and Contact Team" and list "What Mr & Mrs McCarthy
will do", then "What the supervisors will do".
"""

from __future__ import annotations

from tracker.records.identity import normalise_name


def family_name(children) -> str:
    """"the Murphy family", or "the Murphy and Okafor families" for children with different surnames."""
    surnames: list[str] = []
    for child in children:
        words = child.name.split()
        surname = words[-1] if len(words) > 1 else ""
        if surname and surname not in surnames:
            surnames.append(surname)
    if not surnames:
        return "the family"
    if len(surnames) == 1:
        return f"the {surnames[0]} family"
    return f"the {', '.join(surnames[:-1])} and {surnames[-1]} families"


def title(kind: str, children, recipients, council: str) -> str:
    agencies: list[str] = []
    for recipient in recipients:
        name = (recipient.agency_name or "").strip()
        if name and name not in agencies:
            agencies.append(name)
    between = [family_name(children), council, *agencies]
    listed = ", ".join(between[:-1]) + " and " + between[-1] if len(between) > 1 else between[0]
    label = "Written undertaking" if kind == "undertaking" else "Partnership agreement"
    return f"{label} between {listed}"


def by_party(actions) -> list[tuple[str, list]]:
    """[(who, [actions])] in the order each person first appears; unnamed ones last."""
    groups: dict[str, tuple[str, list]] = {}
    for action in actions:
        key = normalise_name(action.who) or ""
        if key not in groups:
            groups[key] = (action.who.strip() or "Not yet named", [])
        groups[key][1].append(action)
    ordered = [groups[k] for k in groups if k]
    if "" in groups:
        ordered.append(groups[""])
    return ordered


def signatories(parties, worker) -> tuple[list, object | None]:
    """(the parties besides the social worker, the social worker's own party row or None).

    The copy names the social worker once, as signing on behalf of the council,
    with the date from their party row where they are also listed as a party;
    every other party signs above them."""
    name = normalise_name(worker.name) if worker is not None else ""
    others, own = [], None
    for party in parties:
        if name and own is None and normalise_name(party.name) == name:
            own = party
        else:
            others.append(party)
    return others, own
