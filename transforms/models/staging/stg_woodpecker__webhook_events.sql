-- One row per distinct webhook event (grain: event_id, the content hash of the delivered object; a
-- redelivered event has the id of its first copy). Empty unless a webhook receiver feeds the
-- `webhook_events` table. `event` is the webhook's `method` (campaign_sent, email_opened, link_clicked,
-- prospect_replied, …); `step_number` is the payload's `step`, the position of the email in the
-- sequence; campaign fields are NULL for events not tied to a campaign. `occurred_date` is the UTC day.
SELECT
    w.event_id,
    LOWER(TRIM(w.event)) AS event,
    w.prospect_id,
    w.campaign_id,
    w.step AS step_number,
    w.occurred_at,
    DATE '1970-01-01' + CAST(FLOOR(EXTRACT(EPOCH FROM w.occurred_at) / 86400) AS INTEGER) AS occurred_date,
    NULLIF(LOWER(TRIM(w.email)), '') AS email,
    NULLIF(TRIM(w.url), '') AS url,
    w.received_at
FROM {{ typed_source(source('woodpecker', 'webhook_events')) }} AS w
WHERE w.event_id IS NOT NULL AND w.event IS NOT NULL AND w.occurred_at IS NOT NULL
