"""Matching's services, one module a job; each state change checks the policy and writes its audit entry in its
transaction.

- engine_approval: the face engine in use, and its approval for live use by two people
- enrolment: approved watchlist versions become templates (and purges take them away)
- camera_credentials: a van's or camera's secret for the capture API, issued once, listed, revoked
- live_capture: the hot path, a camera's frame matched and recorded (changes only with its benchmark)
- capture_queue: a frame admitted in the web process handed to a capture worker, and its answer awaited
- alert_handling: judging alerts, the figures recounted from them, their probes' retention
- retrospective: CCTV stills searched against custody images, chosen and confirmed by two people
- custody_index: the custody templates and the index retrospective search walks
- custody_erasure: an erased subject's or image's templates deleted, with receipts (or refused: evidence)
- engine_evaluation: the engine in force evaluated on a labelled face set, the report stored and logged
"""
