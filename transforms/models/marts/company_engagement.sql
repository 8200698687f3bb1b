-- One row per email domain of live prospects (grain: email_domain; prospects without an email
-- address share the NULL row). `company_name` is the most common company name among its prospects.
WITH names AS (
    SELECT
        email_domain,
        company,
        ROW_NUMBER() OVER (PARTITION BY email_domain ORDER BY COUNT(*) DESC, company) AS name_rank
    FROM {{ ref('prospect_engagement') }}
    WHERE company IS NOT NULL
    GROUP BY email_domain, company
),

per_domain AS (
    SELECT
        email_domain,
        COUNT(*) AS prospects,
        COUNT(CASE WHEN campaigns_enrolled > 0 THEN 1 END) AS prospects_enrolled,
        COUNT(CASE WHEN campaigns_contacted > 0 THEN 1 END) AS prospects_contacted,
        COUNT(CASE WHEN campaigns_bounced > 0 THEN 1 END) AS prospects_bounced,
        COUNT(CASE WHEN campaigns_replied > 0 THEN 1 END) AS prospects_replied,
        COUNT(CASE WHEN campaigns_positive_reply > 0 THEN 1 END) AS prospects_positive_reply,
        SUM(campaigns_replied) AS campaign_replies,
        SUM(campaigns_positive_reply) AS campaign_positive_replies,
        SUM(emails_sent) AS emails_sent
    FROM {{ ref('prospect_engagement') }}
    GROUP BY email_domain
),

counts AS (
    SELECT
        d.email_domain,
        n.company AS company_name,
        COALESCE(d.email_domain IN (
            'gmail.com', 'googlemail.com', 'yahoo.com', 'hotmail.com', 'outlook.com', 'live.com',
            'msn.com', 'icloud.com', 'me.com', 'aol.com', 'proton.me', 'protonmail.com', 'gmx.com',
            'gmx.de', 'web.de', 'mail.ru', 'yandex.ru', 'wp.pl', 'onet.pl', 'o2.pl', 'interia.pl'
        ), FALSE) AS is_free_email_domain,
        CAST(d.prospects AS BIGINT) AS prospects,
        CAST(d.prospects_enrolled AS BIGINT) AS prospects_enrolled,
        CAST(d.prospects_contacted AS BIGINT) AS prospects_contacted,
        CAST(d.prospects_bounced AS BIGINT) AS prospects_bounced,
        CAST(d.prospects_replied AS BIGINT) AS prospects_replied,
        CAST(d.prospects_positive_reply AS BIGINT) AS prospects_positive_reply,
        CAST(d.campaign_replies AS BIGINT) AS campaign_replies,
        CAST(d.campaign_positive_replies AS BIGINT) AS campaign_positive_replies,
        CAST(d.emails_sent AS BIGINT) AS emails_sent
    FROM per_domain AS d
    LEFT JOIN names AS n ON n.email_domain IS NOT DISTINCT FROM d.email_domain AND n.name_rank = 1
)

SELECT
    *,
    CASE
        WHEN prospects_contacted - prospects_bounced > 0
            THEN CAST(prospects_replied AS FLOAT8) / (prospects_contacted - prospects_bounced)
    END AS reply_rate,
    CASE
        WHEN prospects_replied > 0 THEN CAST(prospects_positive_reply AS FLOAT8) / prospects_replied
    END AS positive_reply_rate
FROM counts
