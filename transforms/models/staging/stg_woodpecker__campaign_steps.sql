-- One row per step of a live campaign (grain: campaign_id × step_id), latest fetch wins.
WITH ranked AS (
    SELECT
        s.*,
        ROW_NUMBER() OVER (
            PARTITION BY s.campaign_id, s.step_id ORDER BY s._fetched_at DESC NULLS LAST
        ) AS row_rank
    FROM {{ typed_source(source('woodpecker', 'campaign_steps')) }} AS s
    WHERE s.campaign_id IS NOT NULL AND s.step_id IS NOT NULL
)

SELECT
    s.campaign_id,
    s.step_id,
    s.step_number,
    UPPER(NULLIF(TRIM(s.type), '')) AS step_type,
    UPPER(NULLIF(TRIM(s.followup_after_range), '')) AS followup_after_range,
    s.followup_after_value,
    s.wait_hours,
    NULLIF(TRIM(s.sending_days), '') AS sending_days,
    s.version_count
FROM ranked AS s
INNER JOIN {{ ref('stg_woodpecker__campaigns') }} AS c ON c.campaign_id = s.campaign_id
WHERE
    s.row_rank = 1
    AND s.deleted_at IS NULL
