"""The demo camera: the frames it shows, and how they reach the capture endpoint, in this process (seed_demo, before
any server runs) or over HTTP (`manage.py demo_camera`), through the API a van uses, with a camera credential.

With an engine that recognises people (dlib's, the default without facenet's weights; watchlist_demo.real_faces()),
the camera shows real, public-domain photographs (apps/matching/demo_faces/SOURCES.md) in a 640x480 street:

- the listed stand-in: another photograph of the person whose portrait is his custody image (obama2.jpg against
  obama.jpg), which dlib scores 0.96 against his template, an alert at the demo's 0.900;
- passers-by: one or two of Joe Biden's portrait and Eileen Collins's (scikit-image's astronaut), which it scores
  0.80 to 0.82 against it, each leaving a deletion receipt.

With the uncalibrated engine (random weights; README, The demo), against the demo lists' templates it scores every
face this camera shows between 0.9996 and 1.00002 (docs/benchmarks.md, The demo engine's scores), so no threshold
tells one person from another. The demo then runs at threshold 1.000 and the camera shows two kinds of frame that
threshold does tell apart:

- an enrolled photograph: a listed subject's custody image itself, byte for byte, held up to the camera (as a force
  tests a deployment with photographs of people on its list); it scores 1.000003 or more against a template;
- a passer-by: the same public-domain photograph in a 640x480 street, in dusk or haze (darkened, or dimmed and lifted),
  one or two faces a frame; it scores 0.99981 at most, and leaves a deletion receipt.

Rotated, flipped or rescaled copies of the photograph in plain light would alert too: at 1.000 what decides is the
float16 rounding of the stored templates (about 1e-5), not who the face is.
"""

import io
import random
from dataclasses import dataclass
from functools import cache

import numpy as np
import requests
from django.conf import settings
from django.test import Client
from django.urls import reverse
from PIL import Image, ImageDraw

from apps.deployments import demo as deployments_demo
from apps.watchlists import demo as watchlist_demo

from .models import CameraCredential
from .services import camera_credentials

SCENE = (640, 480)
# A real passer-by's photograph and the range of its height in the frame: tall enough for a face of 40 px or more
# (FACE_MIN_SIZE), narrow enough for two a frame.
PASSERS_BY = {"biden": (400, 470), "collins": (270, 310)}
# Each light: the range of the factor the photograph's pixels are multiplied by, and of what is then added.
LIGHTS = {"dusk": ((0.2, 0.4), (0, 0)), "haze": ((0.25, 0.3), (40, 100))}


def put_away(commander, credential: str, reason: str) -> None:
    """Revoke a demo credential once its frames are sent (logged, as any revocation): a demo secret, printed in no
    file but known to the process that used it, is never left valid after it."""
    key_id = credential.partition(".")[0]
    issued = CameraCredential.objects.filter(key_id=key_id, revoked_at__isnull=True).first()
    if issued is not None:  # a newer credential for the van (another demo camera) has revoked it already
        camera_credentials.revoke_credential(commander, issued, reason=reason)


@dataclass(frozen=True)
class Shot:
    """A frame the camera shows, what it shows, and the PNC ID of the listed subject whose photograph it is (blank
    for passers-by)."""

    frame: bytes
    label: str
    subject: str = ""


def enrolled_photograph(index: int) -> Shot:
    """The listed subject `index` (of deployments_demo.listed()): with real faces another photograph of the stand-in
    in the street; else the subject's custody image, as enrolled."""
    listed = deployments_demo.listed()
    pnc_id = listed[index % len(listed)]
    if watchlist_demo.real_faces():
        chance = random.Random(index)
        scene = _street(chance)
        face = _real_photo("obama2")
        _paste(scene, face, chance.randrange(300, 460), chance, 0, 1)
        return Shot(_jpeg(scene), f"another photograph of {pnc_id}", pnc_id)
    index = next(number for number, row in enumerate(watchlist_demo.SUBJECTS) if row[5] == pnc_id)
    return Shot(watchlist_demo.synthetic_portrait(index), f"the enrolled photograph of {pnc_id}", pnc_id)


@cache
def _photo() -> Image.Image:
    return Image.open(watchlist_demo.FACE_PHOTO).convert("RGB")


@cache
def _real_photo(name: str) -> Image.Image:
    """A vendored public-domain photograph; Eileen Collins's is scikit-image's astronaut, cropped to her head and
    shoulders."""
    if name == "collins":
        return _photo().crop((80, 0, 400, 320))
    return Image.open(watchlist_demo.REAL_FACES / f"{name}.jpg").convert("RGB")


def _street(chance: random.Random) -> Image.Image:
    scene = Image.new("RGB", SCENE)
    draw = ImageDraw.Draw(scene)
    width, height = SCENE
    for y in range(height):
        grey = 90 + y * 80 // height
        draw.line([(0, y), (width, y)], fill=(grey, grey, grey + 10))
    for _ in range(5):  # shop fronts
        left = chance.randrange(0, width - 80)
        colour = tuple(chance.randrange(60, 200) for _ in range(3))
        draw.rectangle([left, 0, left + chance.randrange(40, 160), chance.randrange(80, 200)], fill=colour)
    return scene


def _paste(scene: Image.Image, face: Image.Image, height: int, chance: random.Random, slot: int, slots: int) -> None:
    """The photograph, `height` pixels tall, mirrored or not, somewhere in its slot of the street's width."""
    if chance.random() < 0.5:
        face = face.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    face = face.resize((face.width * height // face.height, height))
    room = SCENE[0] // slots
    scene.paste(face, (slot * room + chance.randrange(0, max(1, room - face.width)), SCENE[1] - height))


def _jpeg(scene: Image.Image) -> bytes:
    out = io.BytesIO()
    scene.save(out, "JPEG", quality=88)
    return out.getvalue()


def passer_by(number: int) -> Shot:
    """Frame `number` of a street with one or two passers-by (real people other than the stand-in, or the uncalibrated
    engine's portrait in dusk or haze): always the same for a number."""
    chance = random.Random(number)
    scene = _street(chance)
    if watchlist_demo.real_faces():
        people = chance.sample(sorted(PASSERS_BY), chance.choice((1, 1, 2)))
        for slot, name in enumerate(people):
            _paste(scene, _real_photo(name), chance.randrange(*PASSERS_BY[name]), chance, slot, len(people))
        shown = " and ".join({"biden": "Joe Biden", "collins": "Eileen Collins"}[name] for name in people)
        return Shot(_jpeg(scene), f"passer{'s' if len(people) > 1 else ''}-by ({shown})")
    width, height = SCENE
    faces = chance.choice((1, 1, 2))
    lights = []
    for slot in range(faces):
        light = chance.choice(sorted(LIGHTS))
        (low, high), (least, most) = LIGHTS[light]
        factor, lift = chance.uniform(low, high), chance.uniform(least, most)
        face = _photo().transpose(Image.Transpose.FLIP_LEFT_RIGHT) if chance.random() < 0.5 else _photo()
        face = face.rotate(chance.uniform(-10, 10), fillcolor=(128, 128, 128))
        face = Image.fromarray((np.asarray(face, dtype=np.float32) * factor + lift).clip(0, 255).astype(np.uint8))
        side = chance.randrange(150, 240)
        room = width // faces
        scene.paste(
            face.resize((side, side)),
            (slot * room + chance.randrange(0, room - side), chance.randrange(0, height - side)),
        )
        lights.append(light)
    return Shot(_jpeg(scene), f"{faces} passer{'s' if faces > 1 else ''}-by ({', '.join(lights)})")


def shot(number: int, alert_every: int) -> Shot:
    """The camera's frame `number` (from 0): every `alert_every`th an enrolled photograph, the listed subjects in
    turn; the others passers-by."""
    if alert_every and number % alert_every == alert_every - 1:
        return enrolled_photograph(number // alert_every % len(deployments_demo.listed()))
    return passer_by(number)


@dataclass(frozen=True)
class Answer:
    """The capture endpoint's answer: its status and its JSON (201: capture, faces, alerts, receipts; else detail)."""

    status: int
    body: dict


def _path(deployment_id: int) -> str:
    return f"{reverse('matching-capture')}?deployment={deployment_id}"


class InProcess:
    """The capture endpoint in this process, through Django's whole request handling (middleware, URLs, the view),
    as a van's request would go; seed_demo posts here, before any server runs."""

    def __init__(self, credential: str):
        # A host the settings allow (a leading dot allows a domain and its subdomains).
        host = next((host.lstrip(".") for host in settings.ALLOWED_HOSTS if host != "*"), "localhost")
        self._client = Client(SERVER_NAME=host, HTTP_AUTHORIZATION=f"Camera {credential}")

    def post(self, deployment_id: int, frame: bytes) -> Answer:
        """Post one JPEG frame for the deployment."""
        # Marked secure: there is no wire to move to HTTPS, so SECURE_SSL_REDIRECT has nothing to redirect.
        response = self._client.post(_path(deployment_id), frame, content_type="image/jpeg", secure=True)
        return Answer(response.status_code, response.json())


class OverHttp:
    """The capture endpoint of a running server, at `base_url` (e.g. http://127.0.0.1:8000)."""

    def __init__(self, base_url: str, credential: str, timeout: float = 30):
        self._base_url, self._timeout = base_url.rstrip("/"), timeout
        self._session = requests.Session()
        self._session.headers.update({"Authorization": f"Camera {credential}", "Content-Type": "image/jpeg"})

    def post(self, deployment_id: int, frame: bytes) -> Answer:
        """Post one JPEG frame for the deployment; requests' ConnectionError and Timeout pass to the caller."""
        response = self._session.post(self._base_url + _path(deployment_id), data=frame, timeout=self._timeout)
        try:
            body = response.json()
        except ValueError:  # nginx's own pages when gunicorn is not up yet (502), or a proxy's
            body = {"detail": response.text.strip()[:200]}
        return Answer(response.status_code, body if isinstance(body, dict) else {"detail": body})

    def close(self) -> None:
        """Close the kept connection."""
        self._session.close()
