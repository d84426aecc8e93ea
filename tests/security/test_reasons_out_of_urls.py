"""A consultation's reason never travels in a URL (issue 20, item 9).

Reasons went as `?reason=` and landed in access logs (166 lines in one demo run) and Referer headers. A page's
reason form now POSTs to /audit/consult/, which keeps it in the session for that page; the page and the images it
shows use it from there, and no link or image on the page carries it.
"""

import pytest
from django.urls import reverse

from apps.audit.models import Event
from apps.matching.models import Alert
from apps.matching.services import live_capture

pytestmark = pytest.mark.django_db
WHY = "Reviewing the list before approval, ticket 4411"


def _consult(client, page: str, reason: str = WHY):
    return client.post(reverse("audit:consult"), {"reason": reason, "next": page})


def test_a_watchlist_page_takes_its_reason_in_a_post_and_shows_images_without_it(approvers, client, submitted):
    watchlist, _review = submitted
    client.force_login(approvers.superintendent)
    page = reverse("watchlists:review", args=[watchlist.pk])
    asked = client.get(page).content.decode()
    assert 'method="post"' in asked and reverse("audit:consult") in asked and 'method="get"' not in asked
    answered = _consult(client, page)
    assert answered.status_code == 302 and answered.url == page and WHY not in answered.url
    shown = client.get(page)
    assert shown.status_code == 200
    html = shown.content.decode()
    assert "reason=" not in html and WHY in html
    consulted = Event.objects.filter(action="record.consulted", target_id=str(watchlist.pk)).last()
    assert consulted.reason == WHY
    image = watchlist.entries.first().image
    assert f"{reverse('watchlists:image', args=[image.pk])}?watchlist={watchlist.pk}" in html
    fetched = client.get(reverse("watchlists:image", args=[image.pk]), {"watchlist": watchlist.pk})
    assert fetched.status_code == 200 and fetched["Content-Type"].startswith("image/")
    assert Event.objects.filter(target_id=str(image.pk), reason=WHY).exists()
    # Without the page's reason, or for a list the image is not on, nothing is shown.
    assert client.get(reverse("watchlists:image", args=[image.pk])).status_code == 400


def test_the_alert_queue_shows_its_images_without_the_reason_in_their_address(actors, client, live, vans, astronaut):
    alert = Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0])
    client.force_login(actors.officer)
    page = reverse("matching:alerts", args=[live.pk])
    _consult(client, page)
    html = client.get(page).content.decode()
    assert "reason=" not in html
    probe = client.get(reverse("matching:alert-image", args=[alert.pk, "probe"]))
    assert probe.status_code == 200 and probe["Content-Type"] == "image/jpeg"


def test_the_reason_form_refuses_a_foreign_page_and_a_forged_line(actors, client, live):
    client.force_login(actors.officer)
    assert _consult(client, "https://evil.example/steal").status_code == 400
    assert _consult(client, "//evil.example/steal").status_code == 400
    page = reverse("matching:alerts", args=[live.pk])
    assert _consult(client, page, "Looking\r\nInjected: 1").status_code == 400
    assert client.post(reverse("audit:consult"), {"reason": WHY, "next": page}, follow=False).status_code == 302


def test_the_subject_search_sends_its_name_and_reason_in_the_body(actors, client):
    client.force_login(actors.compiler)
    html = client.get(reverse("watchlists:subjects")).content.decode()
    assert '<form method="post" class="filters">' in html
    found = client.post(reverse("watchlists:subjects"), {"q": "nobody", "reason": WHY})
    assert found.status_code == 200
