-- Observed opens per campaign membership (grain: campaign_id × prospect_id, only pairs with an open).
-- `observed_opens` counts distinct last-open times the connector saw, a lower bound of real opens.
SELECT
    o.campaign_id,
    o.prospect_id,
    CAST(COUNT(*) AS BIGINT) AS observed_opens,
    MIN(o.opened_at) AS first_opened_at,
    MAX(o.opened_at) AS last_opened_at
FROM {{ ref('stg_woodpecker__prospect_opens') }} AS o
GROUP BY o.campaign_id, o.prospect_id
