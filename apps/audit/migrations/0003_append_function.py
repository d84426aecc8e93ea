"""The append as one server-side function: one statement, one round trip, the head row locked for one statement.

Python writes every byte of an event's canonical JSON except the two values only the locked head can give, its
position and its time (both keys sort after "data", so the text splits around them without ambiguity). The
function extends the compact range exactly as merkle.CompactRange.append does; `audit verify` recomputes every
node from the leaves, so any divergence between the two would be reported.
"""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION audit_append(
    p_before_seq text, p_before_time text, p_after_time text, p_actor_id bigint, p_actor text, p_request_id uuid,
    p_action text, p_target_type text, p_target_id text, p_reason text,
    OUT o_seq bigint, OUT o_created_at timestamptz, OUT o_canonical text, OUT o_leaf bytea
) LANGUAGE plpgsql AS $$
DECLARE
    v_frontier bytea;
    v_value bytea;
    v_pending bigint;
    v_level int := 0;
    v_cut int;
BEGIN
    SELECT size, frontier INTO o_seq, v_frontier FROM audit_loghead WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_loghead (id, size, frontier) VALUES (1, 0, '') ON CONFLICT DO NOTHING;
        SELECT size, frontier INTO o_seq, v_frontier FROM audit_loghead WHERE id = 1 FOR UPDATE;
    END IF;
    o_created_at := date_trunc('microseconds', clock_timestamp());
    o_canonical := p_before_seq || o_seq || p_before_time
        || to_char(o_created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"') || p_after_time;
    o_leaf := sha256('\x00'::bytea || convert_to(o_canonical, 'UTF8'));
    INSERT INTO audit_event (seq, created_at, actor_id, actor_username, request_id, action, target_type, target_id,
                             reason, canonical, leaf_hash)
    VALUES (o_seq, o_created_at, p_actor_id, p_actor, p_request_id, p_action, p_target_type, p_target_id, p_reason,
            o_canonical, o_leaf);
    v_value := o_leaf;
    v_pending := o_seq;
    WHILE v_pending & 1 = 1 LOOP  -- merkle.CompactRange.append: merge equal-sized subtrees right to left
        v_cut := length(v_frontier) - 32;
        v_value := sha256('\x01'::bytea || substring(v_frontier FROM v_cut + 1) || v_value);
        v_frontier := substring(v_frontier FROM 1 FOR v_cut);
        v_level := v_level + 1;
        v_pending := v_pending >> 1;
        INSERT INTO audit_treenode (level, "index", hash) VALUES (v_level, ((o_seq + 1) >> v_level) - 1, v_value);
    END LOOP;
    UPDATE audit_loghead SET size = o_seq + 1, frontier = v_frontier || v_value WHERE id = 1;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [migrations.RunSQL(FUNCTION, reverse_sql="DROP FUNCTION IF EXISTS audit_append")]
