"""A person found not to be the subject once stopped is nobody to act on (found by an outside review of issue 22)."""

import pytest

from apps.disclosures import services
from apps.matching.choices import Outcome
from apps.matching.models import Alert
from apps.matching.services import alert_handling, live_capture
from apps.watchlists.models import Subject
from govern.errors import Conflict

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_no_right_to_be_told_case_from_an_alert_found_false_after_the_stop(unit, live, vans, astronaut):
    alert = Alert.objects.get(pk=live_capture.capture_frame(vans[0], astronaut).alerts[0])
    Subject.objects.filter(pk=alert.subject_id).update(registered_sex_offender=True)
    alert_handling.adjudicate(unit.pc, alert, match=True, reason="Same face, scar and ears")
    alert_handling.engage(unit.pc, alert)
    alert_handling.record_alert_outcome(
        unit.pc,
        alert,
        outcome=Outcome.FALSE_AFTER_ENGAGEMENT,
        identity_check="document",
        stop_minutes=4,
        note="Passport: not him",
    )
    with pytest.raises(Conflict, match="after the stop"):
        services.open_from_alert(unit.pc, alert)
