-- The 14 OpenSAFELY PINCER measures in plain DuckDB SQL, written the way an analyst would
-- write them: one CTE per building block of /work/shared/pincer/INDICATORS.md (§3), then one
-- column per denominator and numerator (§4), then per-practice counts.
--
-- pincer_duckdb.py creates the inputs before running this file:
--   patients(patient_id BIGINT, date_of_birth DATE, sex 'M'|'F'|NULL, date_of_death DATE)
--   practice_registrations(patient_id, start_date DATE, end_date DATE, practice_pseudo_id VARCHAR,
--                          row_no)                                   -- row_no: order in the file
--   medications(patient_id, date DATE, dmd_code VARCHAR)                      -- codes trimmed
--   clinical_events(patient_id, date DATE, snomedct_code VARCHAR,
--                   numeric_value DOUBLE, comparator VARCHAR ('' when missing), row_no)
--   codelist(list VARCHAR, kind 'dmd'|'snomed', code VARCHAR)   -- the 24 codelists, one table
--   index_dates(index_date DATE)
--
-- Month arithmetic (§2.2): `index_date - INTERVAL n MONTH` keeps the day number. DuckDB would
-- clamp a day that does not exist in the target month; pincer_duckdb.py rejects such index
-- dates up front, as cohort-extractor does, so the clamp never happens.
--
-- The file holds several statements, each introduced by a `-- name: NAME` line.

-- name: patient_measures
CREATE TEMP TABLE patient_measures AS
WITH
windows AS (  -- §2.3: the window boundaries for each index date (§3.1's M1-M3 are not needed)
    SELECT index_date,
           CAST(index_date - INTERVAL 3 MONTH  AS DATE) AS i_3m,
           CAST(index_date - INTERVAL 6 MONTH  AS DATE) AS i_6m,
           CAST(index_date - INTERVAL 12 MONTH AS DATE) AS i_12m,
           CAST(index_date - INTERVAL 15 MONTH AS DATE) AS i_15m
    FROM index_dates
),

-- §2.7 base population -------------------------------------------------------------------
registered AS (  -- rule 1 (start <= I < end) and practice attribution: latest start, then
                 -- latest end (ongoing counts as latest), then the first row in the file (the
                 -- extract has no registration id; see README)
    SELECT r.patient_id, w.index_date,
           arg_max(r.practice_pseudo_id,
                   (r.start_date, coalesce(r.end_date, DATE '9999-12-31'), -r.row_no)) AS practice_pseudo_id
    FROM practice_registrations r
    JOIN windows w ON r.start_date <= w.index_date
                  AND (r.end_date IS NULL OR r.end_date > w.index_date)
    GROUP BY r.patient_id, w.index_date
),
aged AS (  -- §2.6 age in completed years at I
    SELECT g.patient_id, g.index_date, g.practice_pseudo_id, p.sex, p.date_of_death,
           year(g.index_date) - year(p.date_of_birth)
             - CASE WHEN month(g.index_date) * 100 + day(g.index_date)
                       < month(p.date_of_birth) * 100 + day(p.date_of_birth)
                    THEN 1 ELSE 0 END AS age
    FROM registered g
    JOIN patients p ON p.patient_id = g.patient_id
),
base AS (  -- rules 2-4: alive on I, 18-120, sex M or F
    SELECT patient_id, index_date, practice_pseudo_id, age
    FROM aged
    WHERE (date_of_death IS NULL OR date_of_death > index_date)
      AND age BETWEEN 18 AND 120
      AND sex IN ('M', 'F')
),

-- Records coded with a PINCER codelist (codelists joined as a table, never as IN lists) ----
med AS MATERIALIZED (
    SELECT m.patient_id, m.date, c.list
    FROM medications m
    JOIN codelist c ON c.kind = 'dmd' AND c.code = m.dmd_code
),
ev AS MATERIALIZED (
    SELECT e.patient_id, e.date, c.list, e.numeric_value, e.comparator, e.row_no
    FROM clinical_events e
    JOIN codelist c ON c.kind = 'snomed' AND c.code = e.snomedct_code
),
issue_3m AS MATERIALIZED (  -- every PINCER issue in W3 = [I-3m, I]
    SELECT m.patient_id, w.index_date, m.date, m.list
    FROM med m JOIN windows w ON m.date BETWEEN w.i_3m AND w.index_date
),

-- §3 building blocks: medications ------------------------------------------------------------
nsaid_3m AS (SELECT DISTINCT patient_id, index_date FROM issue_3m WHERE list = 'nsaid'),
ppi_3m AS (SELECT DISTINCT patient_id, index_date FROM issue_3m WHERE list = 'ppi'),
oac_3m AS (SELECT DISTINCT patient_id, index_date FROM issue_3m WHERE list = 'anticoag'),
aspirin_3m AS (SELECT DISTINCT patient_id, index_date FROM issue_3m WHERE list = 'aspirin'),
nonasp_3m AS (SELECT DISTINCT patient_id, index_date FROM issue_3m WHERE list = 'non_asp_antiplate'),
nsbb_3m AS (SELECT DISTINCT patient_id, index_date FROM issue_3m WHERE list = 'nsbb'),
mtx_3m AS (SELECT DISTINCT patient_id, index_date FROM issue_3m WHERE list = 'met'),
lith_3m AS (SELECT DISTINCT patient_id, index_date FROM issue_3m WHERE list = 'lith'),
mtx_6m_3m AS (  -- W6_3 = [I-6m, I-3m]
    SELECT DISTINCT m.patient_id, w.index_date
    FROM med m JOIN windows w ON m.date BETWEEN w.i_6m AND w.i_3m
    WHERE m.list = 'met'
),
lith_6m_3m AS (
    SELECT DISTINCT m.patient_id, w.index_date
    FROM med m JOIN windows w ON m.date BETWEEN w.i_6m AND w.i_3m
    WHERE m.list = 'lith'
),
amio_12m_6m AS (  -- W12_6 = [I-12m, I-6m]
    SELECT DISTINCT m.patient_id, w.index_date
    FROM med m JOIN windows w ON m.date BETWEEN w.i_12m AND w.i_6m
    WHERE m.list = 'amio'
),
amio_6m AS (  -- W6 = [I-6m, I]
    SELECT DISTINCT m.patient_id, w.index_date
    FROM med m JOIN windows w ON m.date BETWEEN w.i_6m AND w.index_date
    WHERE m.list = 'amio'
),
first_issue AS (  -- each patient's first issue from each list: "any issue on or before X"
                  -- is "the first issue is on or before X" (saves joining history to every date)
    SELECT patient_id, list, min(date) AS first_date
    FROM med
    GROUP BY patient_id, list
),
acei_old AS (  -- H15: on or before I-15m
    SELECT f.patient_id, w.index_date
    FROM first_issue f JOIN windows w ON f.first_date <= w.i_15m
    WHERE f.list = 'acei'
),
acei_recent AS (
    SELECT DISTINCT m.patient_id, w.index_date
    FROM med m JOIN windows w ON m.date BETWEEN w.i_6m AND w.index_date
    WHERE m.list = 'acei'
),
loop_old AS (
    SELECT f.patient_id, w.index_date
    FROM first_issue f JOIN windows w ON f.first_date <= w.i_15m
    WHERE f.list = 'diur'
),
loop_recent AS (
    SELECT DISTINCT m.patient_id, w.index_date
    FROM med m JOIN windows w ON m.date BETWEEN w.i_6m AND w.index_date
    WHERE m.list = 'diur'
),
-- §3.1 co-prescription: an X issue and a Y issue, both in W3, at most 27 days apart
coprescribed_oac_antiplat AS (
    SELECT DISTINCT x.patient_id, x.index_date
    FROM issue_3m x
    JOIN issue_3m y ON y.patient_id = x.patient_id AND y.index_date = x.index_date
                   AND abs(x.date - y.date) <= 27
    WHERE x.list = 'anticoag' AND y.list = 'antiplat'
),
coprescribed_aspirin_nonasp AS (
    SELECT DISTINCT x.patient_id, x.index_date
    FROM issue_3m x
    JOIN issue_3m y ON y.patient_id = x.patient_id AND y.index_date = x.index_date
                   AND abs(x.date - y.date) <= 27
    WHERE x.list = 'aspirin' AND y.list = 'non_asp_antiplate'
),

-- §3 building blocks: clinical events --------------------------------------------------------
first_event AS (  -- each patient's first record from each clinical list (as first_issue)
    SELECT patient_id, list, min(date) AS first_date
    FROM ev
    GROUP BY patient_id, list
),
pu_or_gib_hist AS (  -- PU_HIST or GIB_HIST: on or before I-3m
    SELECT DISTINCT f.patient_id, w.index_date
    FROM first_event f JOIN windows w ON f.first_date <= w.i_3m
    WHERE f.list IN ('pep', 'gi_bleed')
),
hf_hist AS (
    SELECT f.patient_id, w.index_date
    FROM first_event f JOIN windows w ON f.first_date <= w.i_3m
    WHERE f.list = 'hf'
),
asthma_latest AS (  -- ASTHMA_DATE: latest asthma code on or before I-3m
    SELECT e.patient_id, w.index_date, max(e.date) AS asthma_date
    FROM ev e JOIN windows w ON e.date <= w.i_3m
    WHERE e.list = 'ast'
    GROUP BY e.patient_id, w.index_date
),
resolved_latest AS (  -- RESOLVED_DATE: latest asthma-resolved code on or before I
    SELECT e.patient_id, w.index_date, max(e.date) AS resolved_date
    FROM ev e JOIN windows w ON e.date <= w.index_date
    WHERE e.list = 'ast_res'
    GROUP BY e.patient_id, w.index_date
),
asthma_unresolved AS (  -- §4 g: asthma, and no resolved code or one strictly before it
    SELECT a.patient_id, a.index_date
    FROM asthma_latest a
    LEFT JOIN resolved_latest r ON r.patient_id = a.patient_id AND r.index_date = a.index_date
    WHERE r.resolved_date IS NULL OR r.resolved_date < a.asthma_date
),
egfr_latest AS (  -- EGFR: the latest eGFR on or before I-3m; a missing value counts as 0.
                  -- Same-day ties (DATA-CONTRACT): the smallest value, a missing one last, then
                  -- the smallest comparator as text (ranked here, so arg_max can take it).
    SELECT e.patient_id, w.index_date,
           arg_max({value: coalesce(e.numeric_value, 0), comparator: e.comparator},
                   (e.date, e.numeric_value IS NOT NULL, -coalesce(e.numeric_value, 0),
                    CASE e.comparator WHEN '' THEN 6 WHEN '<' THEN 5 WHEN '<=' THEN 4 WHEN '=' THEN 3
                                      WHEN '>' THEN 2 WHEN '>=' THEN 1 ELSE 0 END, -e.row_no)) AS latest
    FROM ev e JOIN windows w ON e.date <= w.i_3m
    WHERE e.list = 'egfr'
    GROUP BY e.patient_id, w.index_date
),
egfr_low AS (  -- §4 k: 1 <= v < 45, comparator not > >= ~, and not "<1"
    SELECT patient_id, index_date
    FROM egfr_latest
    WHERE latest.value >= 1 AND latest.value < 45
      AND latest.comparator NOT IN ('>', '>=', '~')
      AND NOT (latest.value = 1 AND latest.comparator = '<')
),
renal_15m AS (  -- W15 = [I-15m, I]
    SELECT DISTINCT e.patient_id, w.index_date
    FROM ev e JOIN windows w ON e.date BETWEEN w.i_15m AND w.index_date
    WHERE e.list = 'renal'
),
elec_15m AS (
    SELECT DISTINCT e.patient_id, w.index_date
    FROM ev e JOIN windows w ON e.date BETWEEN w.i_15m AND w.index_date
    WHERE e.list = 'electro'
),
fbc_3m AS (
    SELECT DISTINCT e.patient_id, w.index_date
    FROM ev e JOIN windows w ON e.date BETWEEN w.i_3m AND w.index_date
    WHERE e.list = 'fbc'
),
lft_3m AS (
    SELECT DISTINCT e.patient_id, w.index_date
    FROM ev e JOIN windows w ON e.date BETWEEN w.i_3m AND w.index_date
    WHERE e.list = 'lft'
),
lith_level_3m AS (
    SELECT DISTINCT e.patient_id, w.index_date
    FROM ev e JOIN windows w ON e.date BETWEEN w.i_3m AND w.index_date
    WHERE e.list = 'lith_lev'
),
tft_6m AS (
    SELECT DISTINCT e.patient_id, w.index_date
    FROM ev e JOIN windows w ON e.date BETWEEN w.i_6m AND w.index_date
    WHERE e.list = 'tft'
),

-- One row per base-population patient and index date, one boolean per building block -----------
flags AS (
    SELECT b.patient_id, b.index_date, b.practice_pseudo_id, b.age,
           nsaid.patient_id    IS NOT NULL AS nsaid_3m,
           ppi.patient_id      IS NOT NULL AS ppi_3m,
           oac.patient_id      IS NOT NULL AS oac_3m,
           asp.patient_id      IS NOT NULL AS aspirin_3m,
           nonasp.patient_id   IS NOT NULL AS nonasp_3m,
           nsbb.patient_id     IS NOT NULL AS nsbb_3m,
           mtx3.patient_id     IS NOT NULL AS mtx_3m,
           mtx63.patient_id    IS NOT NULL AS mtx_6m_3m,
           li3.patient_id      IS NOT NULL AS lith_3m,
           li63.patient_id     IS NOT NULL AS lith_6m_3m,
           am126.patient_id    IS NOT NULL AS amio_12m_6m,
           am6.patient_id      IS NOT NULL AS amio_6m,
           aceo.patient_id     IS NOT NULL AS acei_old,
           acer.patient_id     IS NOT NULL AS acei_recent,
           loopo.patient_id    IS NOT NULL AS loop_old,
           loopr.patient_id    IS NOT NULL AS loop_recent,
           cpe.patient_id      IS NOT NULL AS coprescribed_oac_antiplat,
           cpf.patient_id      IS NOT NULL AS coprescribed_aspirin_nonasp,
           pugib.patient_id    IS NOT NULL AS pu_or_gib_hist,
           hf.patient_id       IS NOT NULL AS hf_hist,
           ast.patient_id      IS NOT NULL AS asthma_unresolved,
           egfr.patient_id     IS NOT NULL AS egfr_low,
           renal.patient_id    IS NOT NULL AS renal_15m,
           elec.patient_id     IS NOT NULL AS elec_15m,
           fbc.patient_id      IS NOT NULL AS fbc_3m,
           lft.patient_id      IS NOT NULL AS lft_3m,
           lilev.patient_id    IS NOT NULL AS lith_level_3m,
           tft.patient_id      IS NOT NULL AS tft_6m
    FROM base b
    LEFT JOIN nsaid_3m nsaid ON nsaid.patient_id = b.patient_id AND nsaid.index_date = b.index_date
    LEFT JOIN ppi_3m ppi ON ppi.patient_id = b.patient_id AND ppi.index_date = b.index_date
    LEFT JOIN oac_3m oac ON oac.patient_id = b.patient_id AND oac.index_date = b.index_date
    LEFT JOIN aspirin_3m asp ON asp.patient_id = b.patient_id AND asp.index_date = b.index_date
    LEFT JOIN nonasp_3m nonasp ON nonasp.patient_id = b.patient_id AND nonasp.index_date = b.index_date
    LEFT JOIN nsbb_3m nsbb ON nsbb.patient_id = b.patient_id AND nsbb.index_date = b.index_date
    LEFT JOIN mtx_3m mtx3 ON mtx3.patient_id = b.patient_id AND mtx3.index_date = b.index_date
    LEFT JOIN mtx_6m_3m mtx63 ON mtx63.patient_id = b.patient_id AND mtx63.index_date = b.index_date
    LEFT JOIN lith_3m li3 ON li3.patient_id = b.patient_id AND li3.index_date = b.index_date
    LEFT JOIN lith_6m_3m li63 ON li63.patient_id = b.patient_id AND li63.index_date = b.index_date
    LEFT JOIN amio_12m_6m am126 ON am126.patient_id = b.patient_id AND am126.index_date = b.index_date
    LEFT JOIN amio_6m am6 ON am6.patient_id = b.patient_id AND am6.index_date = b.index_date
    LEFT JOIN acei_old aceo ON aceo.patient_id = b.patient_id AND aceo.index_date = b.index_date
    LEFT JOIN acei_recent acer ON acer.patient_id = b.patient_id AND acer.index_date = b.index_date
    LEFT JOIN loop_old loopo ON loopo.patient_id = b.patient_id AND loopo.index_date = b.index_date
    LEFT JOIN loop_recent loopr ON loopr.patient_id = b.patient_id AND loopr.index_date = b.index_date
    LEFT JOIN coprescribed_oac_antiplat cpe ON cpe.patient_id = b.patient_id AND cpe.index_date = b.index_date
    LEFT JOIN coprescribed_aspirin_nonasp cpf ON cpf.patient_id = b.patient_id AND cpf.index_date = b.index_date
    LEFT JOIN pu_or_gib_hist pugib ON pugib.patient_id = b.patient_id AND pugib.index_date = b.index_date
    LEFT JOIN hf_hist hf ON hf.patient_id = b.patient_id AND hf.index_date = b.index_date
    LEFT JOIN asthma_unresolved ast ON ast.patient_id = b.patient_id AND ast.index_date = b.index_date
    LEFT JOIN egfr_low egfr ON egfr.patient_id = b.patient_id AND egfr.index_date = b.index_date
    LEFT JOIN renal_15m renal ON renal.patient_id = b.patient_id AND renal.index_date = b.index_date
    LEFT JOIN elec_15m elec ON elec.patient_id = b.patient_id AND elec.index_date = b.index_date
    LEFT JOIN fbc_3m fbc ON fbc.patient_id = b.patient_id AND fbc.index_date = b.index_date
    LEFT JOIN lft_3m lft ON lft.patient_id = b.patient_id AND lft.index_date = b.index_date
    LEFT JOIN lith_level_3m lilev ON lilev.patient_id = b.patient_id AND lilev.index_date = b.index_date
    LEFT JOIN tft_6m tft ON tft.patient_id = b.patient_id AND tft.index_date = b.index_date
),

-- §4 denominators (every one includes B: flags has base patients only) ----------------------
denominators AS (
    SELECT *,
           age >= 65 AND NOT ppi_3m                               AS den_a,
           NOT ppi_3m AND pu_or_gib_hist                          AS den_b,
           NOT ppi_3m AND pu_or_gib_hist                          AS den_c,
           oac_3m                                                 AS den_d,
           oac_3m AND NOT ppi_3m                                  AS den_e,
           aspirin_3m AND NOT ppi_3m                              AS den_f,
           asthma_unresolved                                      AS den_g,
           hf_hist                                                AS den_i,
           egfr_low                                               AS den_k,
           age >= 75 AND ((acei_old AND acei_recent) OR (loop_old AND loop_recent)) AS den_ac,
           mtx_6m_3m AND mtx_3m                                   AS den_me,
           lith_6m_3m AND lith_3m                                 AS den_li,
           amio_12m_6m AND amio_6m                                AS den_am
    FROM flags
)
-- §4 numerators: each one is its denominator AND a condition --------------------------------------
SELECT patient_id, index_date, practice_pseudo_id,
       den_a, den_a AND nsaid_3m                                  AS num_a,
       den_b, den_b AND nsaid_3m                                  AS num_b,
       den_c, den_c AND (aspirin_3m OR nonasp_3m)                 AS num_c,
       den_d, den_d AND nsaid_3m                                  AS num_d,
       den_e, den_e AND coprescribed_oac_antiplat                 AS num_e,
       den_f, den_f AND coprescribed_aspirin_nonasp               AS num_f,
       den_g, den_g AND nsbb_3m                                   AS num_g,
       den_i, den_i AND nsaid_3m                                  AS num_i,
       den_k, den_k AND nsaid_3m                                  AS num_k,
       den_ac, den_ac AND (NOT renal_15m OR NOT elec_15m)         AS num_ac,
       den_me, den_me AND NOT fbc_3m                              AS num_me_no_fbc,
               den_me AND NOT lft_3m                              AS num_me_no_lft,
       den_li, den_li AND NOT lith_level_3m                       AS num_li,
       den_am, den_am AND NOT tft_6m                              AS num_am
FROM denominators;

-- name: practice_order
-- Practices sort numerically when every id is digits, otherwise as text (DATA-CONTRACT).
CREATE TEMP TABLE practice_order AS
WITH practices AS (SELECT DISTINCT practice_pseudo_id FROM patient_measures),
     all_digits AS (SELECT bool_and(regexp_full_match(practice_pseudo_id, '[0-9]+')) AS yes FROM practices)
SELECT practice_pseudo_id,
       row_number() OVER (ORDER BY CASE WHEN (SELECT yes FROM all_digits)
                                        THEN CAST(practice_pseudo_id AS HUGEINT) END,
                                   practice_pseudo_id) AS practice_rank
FROM practices;

-- name: summary
WITH counts AS (
    SELECT index_date, practice_pseudo_id,
           unnest([
               {ord: 1,  measure: 'a',         numerator: count_if(num_a),         denominator: count_if(den_a)},
               {ord: 2,  measure: 'b',         numerator: count_if(num_b),         denominator: count_if(den_b)},
               {ord: 3,  measure: 'c',         numerator: count_if(num_c),         denominator: count_if(den_c)},
               {ord: 4,  measure: 'd',         numerator: count_if(num_d),         denominator: count_if(den_d)},
               {ord: 5,  measure: 'e',         numerator: count_if(num_e),         denominator: count_if(den_e)},
               {ord: 6,  measure: 'f',         numerator: count_if(num_f),         denominator: count_if(den_f)},
               {ord: 7,  measure: 'g',         numerator: count_if(num_g),         denominator: count_if(den_g)},
               {ord: 8,  measure: 'i',         numerator: count_if(num_i),         denominator: count_if(den_i)},
               {ord: 9,  measure: 'k',         numerator: count_if(num_k),         denominator: count_if(den_k)},
               {ord: 10, measure: 'ac',        numerator: count_if(num_ac),        denominator: count_if(den_ac)},
               {ord: 11, measure: 'me_no_fbc', numerator: count_if(num_me_no_fbc), denominator: count_if(den_me)},
               {ord: 12, measure: 'me_no_lft', numerator: count_if(num_me_no_lft), denominator: count_if(den_me)},
               {ord: 13, measure: 'li',        numerator: count_if(num_li),        denominator: count_if(den_li)},
               {ord: 14, measure: 'am',        numerator: count_if(num_am),        denominator: count_if(den_am)}
           ], recursive := true)
    FROM patient_measures
    GROUP BY index_date, practice_pseudo_id
)
SELECT c.index_date, c.practice_pseudo_id, c.measure, c.numerator, c.denominator,
       CASE WHEN c.denominator > 0 THEN printf('%.2f', 100.0 * c.numerator / c.denominator) END AS rate
FROM counts c JOIN practice_order o USING (practice_pseudo_id)
ORDER BY c.index_date, o.practice_rank, c.ord;

-- name: composites
-- §5: per composite, the denominator (any member denominator) and, for n = 1..members, the
-- number of patients with exactly n member numerators true.
WITH per_patient AS (
    SELECT index_date, practice_pseudo_id,
           unnest([
               {ord: 1, composite: 'gi_bleed', members: 6,
                den: den_a OR den_b OR den_c OR den_d OR den_e OR den_f,
                n: num_a::INT + num_b::INT + num_c::INT + num_d::INT + num_e::INT + num_f::INT},
               {ord: 2, composite: 'other_prescribing', members: 3,
                den: den_g OR den_i OR den_k,
                n: num_g::INT + num_i::INT + num_k::INT},
               {ord: 3, composite: 'monitoring', members: 5,
                den: den_ac OR den_me OR den_li OR den_am,
                n: num_ac::INT + num_me_no_fbc::INT + num_me_no_lft::INT + num_li::INT + num_am::INT},
               {ord: 4, composite: 'all', members: 14,
                den: den_a OR den_b OR den_c OR den_d OR den_e OR den_f OR den_g OR den_i OR den_k
                     OR den_ac OR den_me OR den_li OR den_am,
                n: num_a::INT + num_b::INT + num_c::INT + num_d::INT + num_e::INT + num_f::INT
                   + num_g::INT + num_i::INT + num_k::INT + num_ac::INT + num_me_no_fbc::INT
                   + num_me_no_lft::INT + num_li::INT + num_am::INT}
           ], recursive := true)
    FROM patient_measures
),
denominators AS (
    SELECT index_date, practice_pseudo_id, ord, composite, members, count_if(den) AS denominator
    FROM per_patient
    GROUP BY ALL
),
exactly_n AS (
    SELECT index_date, practice_pseudo_id, composite, n, count(*) AS patients
    FROM per_patient
    WHERE n > 0
    GROUP BY ALL
),
grid AS (
    SELECT d.*, unnest(range(1, d.members + 1)) AS n_numerators
    FROM denominators d
)
SELECT g.index_date, g.practice_pseudo_id, g.composite, g.denominator, g.n_numerators,
       coalesce(x.patients, 0) AS patients
FROM grid g
JOIN practice_order o USING (practice_pseudo_id)
LEFT JOIN exactly_n x ON x.index_date = g.index_date AND x.practice_pseudo_id = g.practice_pseudo_id
                     AND x.composite = g.composite AND x.n = g.n_numerators
ORDER BY g.index_date, o.practice_rank, g.ord, g.n_numerators;

-- name: patients
-- patients.csv: one row per patient, index date and measure where the patient is in the denominator.
WITH long AS (
    SELECT index_date, patient_id, practice_pseudo_id,
           unnest([
               {ord: 1,  measure: 'a',         den: den_a,  num: num_a},
               {ord: 2,  measure: 'b',         den: den_b,  num: num_b},
               {ord: 3,  measure: 'c',         den: den_c,  num: num_c},
               {ord: 4,  measure: 'd',         den: den_d,  num: num_d},
               {ord: 5,  measure: 'e',         den: den_e,  num: num_e},
               {ord: 6,  measure: 'f',         den: den_f,  num: num_f},
               {ord: 7,  measure: 'g',         den: den_g,  num: num_g},
               {ord: 8,  measure: 'i',         den: den_i,  num: num_i},
               {ord: 9,  measure: 'k',         den: den_k,  num: num_k},
               {ord: 10, measure: 'ac',        den: den_ac, num: num_ac},
               {ord: 11, measure: 'me_no_fbc', den: den_me, num: num_me_no_fbc},
               {ord: 12, measure: 'me_no_lft', den: den_me, num: num_me_no_lft},
               {ord: 13, measure: 'li',        den: den_li, num: num_li},
               {ord: 14, measure: 'am',        den: den_am, num: num_am}
           ], recursive := true)
    FROM patient_measures
)
SELECT index_date, patient_id, practice_pseudo_id, measure,
       CASE WHEN num THEN 'true' ELSE 'false' END AS numerator
FROM long
WHERE den
ORDER BY index_date, patient_id, ord;
