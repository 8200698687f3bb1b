-- One row per live prospect (grain: prospect_id). The latest fetch of each id wins; prospects marked
-- deleted are dropped; text is trimmed (empty → NULL); the global status is upper-case with `_` for
-- `-`/spaces and a few synonyms folded (RESPONDED → REPLIED, BLACKLISTED → BLACKLIST, OPTOUT → OPT_OUT).
-- Keys are unique in tables loaded by merge, so only ids seen more than once are ranked; every other
-- row passes straight through (a ranking window over every row is the slow part of de-duplication).
WITH repeated_keys AS (
    SELECT p.id
    FROM {{ source('prospects') }} AS p
    GROUP BY p.id
    HAVING COUNT(*) > 1
),

latest AS (
    SELECT p.*
    FROM {{ source('prospects') }} AS p
    LEFT JOIN repeated_keys AS r ON r.id = p.id
    WHERE p.id IS NOT NULL AND r.id IS NULL AND p.deleted_at IS NULL
    UNION ALL
    SELECT
        id, email, first_name, last_name, company, industry, website, title, country, tags,
        organization_id, status, last_contacted, last_replied, updated, deleted_at, _fetched_at
    FROM (
        SELECT
            p.*,
            ROW_NUMBER() OVER (
                PARTITION BY p.id ORDER BY p._fetched_at DESC NULLS LAST, p.updated DESC NULLS LAST
            ) AS row_rank
        FROM {{ source('prospects') }} AS p
        INNER JOIN repeated_keys AS r ON r.id = p.id
    ) AS ranked
    WHERE row_rank = 1 AND deleted_at IS NULL
),

cleaned AS (
    SELECT
        *,
        REPLACE(REPLACE(UPPER(TRIM(status)), '-', '_'), ' ', '_') AS status_key,
        NULLIF(LOWER(TRIM(email)), '') AS email_clean
    FROM latest
)

SELECT
    id AS prospect_id,
    email_clean AS email,
    NULLIF(SPLIT_PART(email_clean, '@', 2), '') AS email_domain,
    NULLIF(TRIM(first_name), '') AS first_name,
    NULLIF(TRIM(last_name), '') AS last_name,
    NULLIF(TRIM(company), '') AS company,
    NULLIF(TRIM(industry), '') AS industry,
    NULLIF(TRIM(website), '') AS website,
    NULLIF(TRIM(title), '') AS title,
    NULLIF(TRIM(country), '') AS country,
    NULLIF(TRIM(tags), '') AS tags,
    organization_id,
    CASE status_key
        WHEN '' THEN NULL
        WHEN 'RESPONDED' THEN 'REPLIED'
        WHEN 'BLACKLISTED' THEN 'BLACKLIST'
        WHEN 'OPTOUT' THEN 'OPT_OUT'
        WHEN 'OPTED_OUT' THEN 'OPT_OUT'
        WHEN 'AUTO_REPLIED' THEN 'AUTOREPLIED'
        ELSE status_key
    END AS status,
    last_contacted AS last_contacted_at,
    last_replied AS last_replied_at,
    updated AS updated_at
FROM cleaned
