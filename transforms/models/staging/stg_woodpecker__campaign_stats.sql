-- One row per vendor statistics snapshot of a live campaign (grain: campaign_id × captured_at).
-- The counters are Woodpecker's own (`campaign_list?id=` → stats), kept as reported.
WITH ranked AS (
    SELECT
        s.*,
        ROW_NUMBER() OVER (
            PARTITION BY s.campaign_id, s.captured_at ORDER BY s._fetched_at DESC NULLS LAST
        ) AS row_rank
    FROM {{ typed_source(source('woodpecker', 'campaign_stats')) }} AS s
    WHERE s.campaign_id IS NOT NULL AND s.captured_at IS NOT NULL
)

SELECT
    s.campaign_id,
    s.captured_at,
    s.prospects,
    s.sent,
    s.delivery,
    s.opened,
    s.clicked,
    s.replied,
    s.autoreplied,
    s.bounced,
    s.invalid,
    s.optout,
    s.interested,
    s.not_interested,
    s.maybe_later,
    s.queue,
    s.to_check
FROM ranked AS s
INNER JOIN {{ ref('stg_woodpecker__campaigns') }} AS c ON c.campaign_id = s.campaign_id
WHERE
    s.row_rank = 1
