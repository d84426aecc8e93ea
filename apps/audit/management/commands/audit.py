"""`manage.py audit checkpoint [--note]|witness|verify|proof|consistency|monitor
|public-key [--history] [--verifier-key]`."""

import base64
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ... import notes, proofs, services, signing, verifier, witnessing
from ...models import Checkpoint
from ...verification import verify


class Command(BaseCommand):
    """Sign checkpoints, verify the whole log, and print proofs a verifier can check offline."""

    help = "Audit log: sign a checkpoint, verify the log, or print a proof."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        checkpoint = sub.add_parser("checkpoint", help="Sign a checkpoint of the log as it stands.")
        checkpoint.add_argument("--note", action="store_true", help="Print it as its C2SP signed note only.")
        sub.add_parser("witness", help="Submit the latest checkpoint to every witness that has not cosigned it, now.")
        verify_parser = sub.add_parser("verify", help="Recompute every leaf, node, root, signature and consistency.")
        verify_parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        verify_parser.add_argument(
            "--fast", action="store_true", help="Skip checking the indexed columns against each event's hashed text."
        )
        proof = sub.add_parser("proof", help="Print the inclusion proof of one event as JSON.")
        proof.add_argument("seq", type=int)
        proof.add_argument("--tree-size", type=int)
        consistency = sub.add_parser("consistency", help="Print a consistency proof as JSON.")
        consistency.add_argument("first", type=int)
        consistency.add_argument("second", type=int)
        public_key = sub.add_parser("public-key", help="Print the checkpoint public key (PEM).")
        public_key.add_argument(
            "--history", action="store_true", help="Print every key checkpoints were signed with, current first."
        )
        public_key.add_argument(
            "--verifier-key",
            action="store_true",
            help="Print the key(s) as c2sp.org/signed-note writes them: <origin>+<hex key hash>+<base64 key>.",
        )

        monitor = sub.add_parser(
            "monitor",
            help="Follow a Govern log's public checkpoint and tiles (this one's by default key); exit 1 on a problem.",
        )
        monitor.add_argument("url", help="the log's base URL: <url>/checkpoint and <url>/tile/... are read")
        monitor.add_argument(
            "--key", help="its verifier key (<origin>+<hex key hash>+<base64 key>); this log's if unset"
        )
        monitor.add_argument("--state", help="the state file (default var/audit-monitor/<origin>.json)")
        monitor.add_argument("--no-tiles", action="store_true", help="rebuild from the entries without the hash tiles")
        monitor.add_argument(
            "--witness",
            action="append",
            default=[],
            help="a witness's verifier key (repeatable); without --key or --witness, this log's AUDIT_WITNESSES",
        )
        monitor.add_argument("--quorum", type=int, help="how many --witness keys must have cosigned (default: all)")

    def handle(self, *args, subcommand, **options):
        return getattr(self, f"_{subcommand.replace('-', '_')}")(**options) or None

    def _checkpoint(self, note=False, **_options):
        checkpoint = services.sign_checkpoint()
        signed_note = services.checkpoint_note(checkpoint)
        if note:
            if signed_note is None:
                raise CommandError(f"checkpoint {checkpoint.tree_size} is of the first format, not a signed note.")
            self.stdout.write(signed_note, ending="")
            return
        self.stdout.write(
            f"checkpoint: size {checkpoint.tree_size} root {bytes(checkpoint.root_hash).hex()} "
            f"at {checkpoint.timestamp} key {checkpoint.key_id}"
        )
        if signed_note is not None:
            self.stdout.write(signed_note, ending="")

    def _witness(self, **_options):
        if not witnessing.configured():
            raise CommandError("No witness is configured (AUDIT_WITNESSES).")
        try:
            answers = witnessing.witness_latest()
            unreachable = ""
        except witnessing.WitnessUnreachable as exc:
            answers, unreachable = [], str(exc)
        for answer in answers:
            self.stdout.write(f"{answer.witness}: {answer.outcome} ({answer.status}) {answer.detail}")
        latest = Checkpoint.objects.order_by("-tree_size").first()
        cosigned = latest.cosignatures.count() if latest is not None else 0
        self.stdout.write(f"checkpoint {latest.tree_size if latest else '-'}: {cosigned} cosignatures, quorum "
                          f"{witnessing.quorum()}")  # fmt: skip
        if unreachable:
            raise CommandError(f"Unreachable, logged, to be retried: {unreachable}")
        if cosigned < witnessing.quorum():
            raise CommandError(
                f"Checkpoint {latest.tree_size} lacks the quorum: see the audit.checkpoint_witnessed events."
            )

    def _verify(self, json=False, fast=False, **_options):
        report = verify(columns=not fast)
        if json:
            self.stdout.write(_json({
                "ok": report.ok, "events": report.events, "checkpoints": report.checkpoints,
                "tree_nodes": report.tree_nodes,
                "problems": [{"seq": p.seq, "message": p.message} for p in report.problems],
            }))  # fmt: skip
        else:
            self.stdout.write(
                f"{report.events} events, {report.tree_nodes} tree nodes, {report.checkpoints} checkpoints checked."
            )
            for problem in report.problems:
                self.stdout.write(f"FAIL {problem}")
        if not report.ok:
            raise CommandError(f"audit log verification failed; first problem: {report.first_problem}")
        if not json:
            self.stdout.write(self.style.SUCCESS("OK: the audit log is intact."))

    def _proof(self, seq, tree_size=None, **_options):
        try:
            proof = proofs.inclusion(seq, tree_size)
        except proofs.ProofError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(_json({
            "type": "inclusion", "leaf_index": proof.leaf_index, "tree_size": proof.tree_size,
            "leaf_hash": proof.leaf_hash.hex(), "audit_path": [h.hex() for h in proof.audit_path],
            "root_hash": proof.root_hash.hex(), **_signed(proof.tree_size),
        }))  # fmt: skip

    def _consistency(self, first, second, **_options):
        try:
            proof = proofs.consistency(first, second)
        except proofs.ProofError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(_json({
            "type": "consistency", "first": proof.first, "second": proof.second,
            "first_root": proof.first_root.hex(), "second_root": proof.second_root.hex(),
            "proof": [h.hex() for h in proof.proof], **_signed(proof.second),
        }))  # fmt: skip

    def _public_key(self, history=False, verifier_key=False, **_options):
        if verifier_key:
            raws = signing.public_keys().values() if history else [signing.public_key_raw()]
            self.stdout.write("\n".join(signing.verifier_key(raw) for raw in raws))
            return
        self.stdout.write((signing.public_keys_pem() if history else signing.public_key_pem()).rstrip())

    def _monitor(self, url, key=None, state=None, no_tiles=False, witness=(), quorum=None, **_options):
        try:
            verifier_key = notes.VerifierKey.parse(key or signing.verifier_key())
            if witness:
                keys = [notes.VerifierKey.parse(each) for each in witness]
            elif key is None:  # this log: its own witnesses and quorum
                keys, quorum = [each.key for each in witnessing.configured()], quorum or witnessing.quorum()
            else:
                keys = []
        except notes.NoteError as exc:
            raise CommandError(str(exc)) from None
        if quorum is not None and not (1 <= quorum <= len(keys) or (quorum == 0 and not keys)):
            raise CommandError(f"--quorum {quorum} is not between 1 and the {len(keys)} witness key(s)")
        cosignatures = verifier.witness_quorum(keys, len(keys) if quorum is None else quorum) if keys else None
        path = state or str(settings.BASE_DIR / "var" / "audit-monitor" / f"{verifier_key.name.replace('/', '_')}.json")
        results = verifier.monitor(url, [verifier_key], path, cosignatures=cosignatures, check_tiles=not no_tiles)
        for label, ok in results:
            self.stdout.write(f"{'OK  ' if ok else 'FAIL'}  {label}")
        if not all(ok for _, ok in results):
            raise CommandError("the log failed monitoring: see FAIL above", returncode=1)
        self.stdout.write(f"RESULT: OK (state in {path})")


def _signed(tree_size: int) -> dict:
    """The signed checkpoint of this tree size, if there is one, for the offline verifier."""
    checkpoint = Checkpoint.objects.filter(tree_size=tree_size).first()
    if checkpoint is None:
        return {}
    # The key that signed it, which may be an earlier one than today's (the key history keeps them all).
    raw = signing.public_key_for(checkpoint.key_id)
    document = {
        "tree_size": checkpoint.tree_size,
        "root_hash": bytes(checkpoint.root_hash).hex(),
        "timestamp": checkpoint.timestamp,
        "signature": base64.b64encode(bytes(checkpoint.signature)).decode(),
        "key_id": checkpoint.key_id,
        "public_key": signing.pem_of(raw) if raw is not None else signing.public_key_pem(),
    }
    note = services.checkpoint_note(checkpoint, raw) if raw is not None else None
    if note is not None:
        document |= {"origin": checkpoint.origin, "note": note}
    return {"checkpoint": document}


def _json(value) -> str:
    return json.dumps(value, indent=2)
