-- An escalation with its conversation, as the desk reads it.
CREATE VIEW escalation_view AS
SELECT e.id AS escalation_id, e.status, e.reason, e.intent, e.score, e.agent, e.created_at,
       e.claimed_at, e.resolved_at, c.id AS conversation_id, c.channel, c.customer_id,
       c.customer_name, c.state, c.last_customer_ms, c.version
FROM escalations e JOIN conversations c ON c.id = e.conversation_id;
