-- One row per A/B version of a step of a live campaign (grain: campaign_id × step_id × version_id).
WITH ranked AS (
    SELECT
        v.*,
        ROW_NUMBER() OVER (
            PARTITION BY v.campaign_id, v.step_id, v.version_id ORDER BY v._fetched_at DESC NULLS LAST
        ) AS row_rank
    FROM {{ typed_source(source('woodpecker', 'campaign_step_versions')) }} AS v
    WHERE v.campaign_id IS NOT NULL AND v.step_id IS NOT NULL AND v.version_id IS NOT NULL
)

SELECT
    v.campaign_id,
    v.step_id,
    v.step_number,
    v.version_id,
    UPPER(NULLIF(TRIM(v.version), '')) AS version,
    NULLIF(TRIM(v.subject), '') AS subject,
    UPPER(NULLIF(TRIM(v.signature), '')) AS signature,
    v.track_opens
FROM ranked AS v
INNER JOIN {{ ref('stg_woodpecker__campaigns') }} AS c ON c.campaign_id = v.campaign_id
WHERE
    v.row_rank = 1
    AND v.deleted_at IS NULL
