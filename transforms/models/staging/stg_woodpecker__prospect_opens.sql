-- One row per observed last-open time (grain: prospect_id × campaign_id × opened_at). Each run of the
-- connector sees only the latest open per prospect and campaign, so this is a sample of the opens, not
-- every open. Opens of deleted prospects or campaigns are dropped.
SELECT DISTINCT
    o.prospect_id,
    o.campaign_id,
    o.opened_at
FROM {{ typed_source(source('woodpecker', 'prospect_opens')) }} AS o
INNER JOIN {{ ref('stg_woodpecker__prospects') }} AS p ON p.prospect_id = o.prospect_id
INNER JOIN {{ ref('stg_woodpecker__campaigns') }} AS c ON c.campaign_id = o.campaign_id
WHERE o.opened_at IS NOT NULL AND o.deleted_at IS NULL
