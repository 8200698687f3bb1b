-- One row per live prospect (grain: prospect_id). The latest fetch of each id wins; prospects marked
-- deleted are dropped; text is trimmed (empty → NULL); the global status is upper-case with `_` for
-- `-`/spaces and a few synonyms folded (RESPONDED → REPLIED, BLACKLISTED → BLACKLIST, OPTOUT → OPT_OUT).
WITH cleaned AS NOT MATERIALIZED (
    SELECT
        p.id AS prospect_id,
        NULLIF(LOWER(TRIM(p.email)), '') AS email,
        NULLIF(TRIM(p.first_name), '') AS first_name,
        NULLIF(TRIM(p.last_name), '') AS last_name,
        NULLIF(TRIM(p.company), '') AS company,
        NULLIF(TRIM(p.industry), '') AS industry,
        NULLIF(TRIM(p.website), '') AS website,
        NULLIF(TRIM(p.title), '') AS title,
        NULLIF(TRIM(p.country), '') AS country,
        NULLIF(TRIM(p.tags), '') AS tags,
        p.organization_id,
        REPLACE(REPLACE(UPPER(TRIM(p.status)), '-', '_'), ' ', '_') AS status_key,
        p.last_contacted AS last_contacted_at,
        p.last_replied AS last_replied_at,
        p.updated AS updated_at,
        p.deleted_at,
        p._fetched_at
    FROM {{ typed_source(source('woodpecker', 'prospects')) }} AS p
    WHERE p.id IS NOT NULL
),

repeated_keys AS NOT MATERIALIZED (
    SELECT c.prospect_id
    FROM cleaned AS c
    GROUP BY c.prospect_id
    HAVING COUNT(*) > 1
),

latest AS (
    SELECT c.*
    FROM cleaned AS c
    LEFT JOIN repeated_keys AS r ON r.prospect_id = c.prospect_id
    WHERE r.prospect_id IS NULL AND c.deleted_at IS NULL
    UNION ALL
    SELECT
        prospect_id, email, first_name, last_name, company, industry, website, title, country, tags,
        organization_id, status_key, last_contacted_at, last_replied_at, updated_at, deleted_at, _fetched_at
    FROM (
        SELECT
            c.*,
            ROW_NUMBER() OVER (
                PARTITION BY c.prospect_id ORDER BY c._fetched_at DESC NULLS LAST, c.updated_at DESC NULLS LAST
            ) AS row_rank
        FROM cleaned AS c
        INNER JOIN repeated_keys AS r ON r.prospect_id = c.prospect_id
    ) AS ranked
    WHERE row_rank = 1 AND deleted_at IS NULL
)

SELECT
    prospect_id,
    email,
    -- the part after the first `@` (a plain SUBSTRING: every dialect has it, and it is cheap)
    CASE WHEN STRPOS(email, '@') > 0
        THEN NULLIF(SUBSTRING(email, STRPOS(email, '@') + 1, LENGTH(email)), '') END AS email_domain,
    first_name,
    last_name,
    company,
    industry,
    website,
    title,
    country,
    tags,
    organization_id,
    {{ woodpecker_status('status_key') }} AS status,
    last_contacted_at,
    last_replied_at,
    updated_at
FROM latest
