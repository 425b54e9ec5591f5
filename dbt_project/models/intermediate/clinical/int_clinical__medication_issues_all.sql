{{ config(materialized='view') }}
-- GP prescription issues of linked people up to the reference date, by medication class
-- (codelist role 'medication': lipid_lowering, statin, antihypertensive, oral_anticoagulant, antiplatelet, saba,
-- ics, insulin, other_antidiabetic, ace_inhibitor, arb, beta_blocker). A dm+d code in several classes gives one
-- row per class (atorvastatin is a statin and lipid-lowering). Issues are counted as extracted: the feed has no
-- key, so two identical rows are two issues. Not restricted to the registered population: its one reader
-- (int_clinical__medication_exposure) starts from the population, and a join here cost more than the rest of the
-- model at 1M people.
with issues as (
    select person_id, issue_date, dmd_code, quantity
    from {{ ref('stg_gp_medications') }}
    where is_linked
      and issue_date <= {{ reference_date() }}
),

medication_classes as (
    select distinct concept, code
    from {{ ref('int_reference__concept_codes') }}
    where role = 'medication'
)

select
    issues.person_id,
    medication_classes.concept as medication_class,
    issues.issue_date,
    issues.dmd_code,
    issues.quantity
from issues
inner join medication_classes
    on issues.dmd_code = medication_classes.code
