"""Every long text box in the app is a GOV.UK character count whose limit the server keeps.

Generated from the pages themselves: each form page is fetched, and for every
<textarea> on it the test checks the character count markup (the limit in
`data-maxlength` and, for a browser without JavaScript, the hint "You can enter up
to ... characters"), then posts the page's own fields back with one character too
many in that box. The answer is a 400 with the message beside that box and every
character typed still in it: the text is never cut short (R15).
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from flask import g

from tests.conftest import NOW
from tracker.agencies import tokens
from tracker.governance import retention
from tracker.models import AgreementChild, Recipient
from tracker.records import breaches
from tracker.records import fields as registry
from tracker.web import forms, ratelimit


def _pages(people, make_agreement):
    """(who, url, what its button adds) of every page with a form that has long text boxes."""
    active = make_agreement(status="active")
    undertaking = make_agreement(kind="undertaking", status="active")
    draft = make_agreement(status="draft")
    waiting = make_agreement(status="awaiting_endorsement")
    breach = breaches.log(active, {"description": "x", "reported_by": "y"}, NOW, user=people.worker)
    token = tokens.token_for(Recipient.get(Recipient.agreement == active))
    child = AgreementChild.get(AgreementChild.agreement == active).child_id
    old = make_agreement(status="ended", children=[{"name": "Amy Old", "date_of_birth": dt.date(1990, 3, 1)}])
    retention.monthly_review(NOW)  # the ended record of a grown child is due a retention decision
    pages = [
        ("worker", "/agreements/new?kind=partnership"),
        ("worker", "/agreements/new?kind=undertaking"),
        ("worker", f"/agreements/{draft.id}/edit"),
        ("manager", f"/agreements/{undertaking.id}/edit"),
        ("worker", f"/agreements/{active.id}/breaches/new"),
        ("worker", f"/breaches/{breach.id}/amend"),
        ("worker", f"/agreements/{active.id}/review"),
        ("worker", f"/agreements/{draft.id}/end"),
        ("worker", f"/agreements/{active.id}/issue"),
        ("manager", f"/children/{child}/close"),
        ("manager", f"/breaches/{breach.id}/acknowledge"),
        ("manager", f"/agreements/{waiting.id}/endorse"),
        ("manager", f"/retention/{old.id}"),
        (None, f"/a/{token}/breach"),
        (None, f"/a/{token}/report"),
    ]
    return [(who, url, {}) for who, url in pages] + [
        ("head", f"/subject-access/preview?child={child}", {"format": "approve"}),
    ]


TEXTAREA = re.compile(r'<textarea[^>]*\bname="([^"]+)"[^>]*>(.*?)</textarea>', re.S)


def _group(page: str, name: str) -> str:
    """The form group around one textarea: from its group's opening to the textarea's end."""
    at = page.index(f'name="{name}"')
    start = page.rindex('<div class="govuk-form-group', 0, at)
    return page[start:page.index("</textarea>", at)] + page[page.index("</textarea>", at):][:400]


def _sign_in(login, client, people, who):
    ratelimit.reset()
    g.pop("_login_user", None)
    if who:
        login(getattr(people, who))
    else:
        client.post("/logout")


def test_every_long_text_box_counts_characters_and_the_server_keeps_the_limit(
        page_fields, app, client, people, login, make_agreement):
    seen: set[str] = set()
    for who, url, button in _pages(people, make_agreement):
        _sign_in(login, client, people, who)
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        boxes = [name for name, _ in TEXTAREA.findall(page)]
        assert boxes, f"{url} has no long text box"
        for name in boxes:
            group = _group(page, name)
            limit = re.search(r'data-module="govuk-character-count"[^>]*data-maxlength="(\d+)"', group)
            assert limit, f"{url}: {name} is not a character count"
            limit = int(limit.group(1))
            assert f"You can enter up to {limit:,} characters" in group, (url, name)
            seen.add(name.rsplit("-", 1)[-1])

            values, _ = page_fields(page)
            values.update(button)
            typed = ("Ab, c; d\u00e9 " * (limit // 10 + 1))[: limit] + "x"  # one character over
            values[name] = typed
            form = page[page.rindex("<form", 0, page.index(f'name="{name}"')):]
            action = re.match(r'<form[^>]*action="([^"]+)"', form)
            target = html.unescape(action.group(1)) if action else url
            answer = client.post(target, data=values)
            assert answer.status_code == 400, (url, name, answer.status_code)
            again = answer.get_data(as_text=True)
            kept = dict(TEXTAREA.findall(again))
            assert html.unescape(kept[name]).strip() == typed.strip(), (url, name, "typing not kept")
            assert re.search(r'govuk-error-message[^>]*>\s*<span class="govuk-visually-hidden">Error:</span>[^<]*'
                             r'characters or fewer', _group(again, name)), (url, name, "no message beside it")
            _sign_in(login, client, people, who)

    # Every long text box a form declares was among those checked.
    declared = {name for _, cls in vars(forms).items() if isinstance(cls, type) and issubclass(cls, forms.Form)
                for name in dir(cls) if getattr(getattr(cls, name, None), "field_class", None) is forms.TextAreaField}
    assert {"phrases", "reason"} <= seen  # the hand-written boxes: subject access, retention
    assert declared <= seen, f"not reached: {sorted(declared - seen)}"


@pytest.mark.parametrize("field", [f for f in registry.RECORD if f.kind in (registry.TEXT, registry.LINE)]
                         + [c for f in registry.ROW_LISTS for c in f.columns if c.kind in (registry.TEXT, registry.LINE)],
                         ids=lambda f: f.name)
def test_the_registry_gives_every_typed_field_its_limit(field):
    assert field.max_length and 0 < field.max_length <= registry.LONG_TEXT
    if field.kind == registry.TEXT:
        assert field.max_length == registry.LONG_TEXT
