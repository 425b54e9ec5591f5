-- Published: the disease registers of each registered person on the reference date (clinical spec, Registers;
-- register ids as in the Identifiers section). Rules in int_clinical__registers. Type 1 opt-outs are included
-- (direct care); aggregates must exclude them (marts.person.type1_opt_out).
select
    person_id,
    register,
    diagnosis_date,
    first_diagnosis_date,
    register_detail,
    diagnosis_code,
    {{ reference_date() }} as reference_date
from {{ ref('int_clinical__registers') }}
