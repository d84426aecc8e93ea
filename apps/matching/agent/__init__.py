"""The capture agent (issue 25): the program beside a van's cameras that reads video, finds, tracks and matches faces
in its own memory, and sends Govern only what the record needs, one decision per person passing.

- video.py: frames of a file or an RTSP/HTTP stream, sampled at a configured rate (PyAV, FFmpeg);
- templates.py: the session Govern grants (the deployment's approved templates, held in memory only) and the match;
- tracking.py: faces followed across frames (supervision's ByteTrack), one decision when a track ends;
- queue.py: the local durable queue of batches, encrypted at rest, resent until acknowledged;
- client.py: the agent API (/api/matching/agent/): session, status, batches;
- runner.py: the loop that ties them together (`manage.py capture_agent`);
- scenes.py: test videos made from the vendored public photographs (apps/matching/demo_faces/).

The agent never touches Govern's database: everything it learns comes through the API with its camera credential.
"""
