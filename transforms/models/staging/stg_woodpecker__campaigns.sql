-- One row per live campaign (grain: campaign_id). The latest fetch wins; deleted campaigns are dropped.
WITH ranked AS (
    SELECT
        c.*,
        ROW_NUMBER() OVER (PARTITION BY c.id ORDER BY c._fetched_at DESC NULLS LAST) AS row_rank
    FROM {{ typed_source(source('woodpecker', 'campaigns')) }} AS c
    WHERE c.id IS NOT NULL
)

SELECT
    id AS campaign_id,
    NULLIF(TRIM(name), '') AS campaign_name,
    UPPER(NULLIF(TRIM(status), '')) AS campaign_status,
    created AS created_at,
    folder_id,
    NULLIF(TRIM(folder_name), '') AS folder_name,
    NULLIF(LOWER(TRIM(from_email)), '') AS from_email,
    per_day,
    daily_enroll,
    NULLIF(TRIM(timezone), '') AS timezone,
    UPPER(NULLIF(TRIM(details_status), '')) AS details_status
FROM ranked
WHERE row_rank = 1 AND deleted_at IS NULL
