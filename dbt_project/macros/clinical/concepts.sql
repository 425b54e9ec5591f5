{#- Codelist concepts (seeds/codelists/codelist_concepts.csv) as models name them. A model names a concept only
    through these macros, with quoted literals, so the `used_in_models_exist` test on int_reference__concept_codes
    can find every concept a model uses and fail when one has no codes.

    concept('hba1c')             -> 'hba1c'                   (a SQL string literal)
    concepts('sysbp', 'diabp')   -> 'sysbp', 'diabp'          (for an in (...) list)
    concept_list('a', 'b')       -> ['a', 'b']                (a Jinja list, to loop over)  -#}
{% macro concept(name) -%}
    {%- if not modules.re.match('^[a-z0-9_]+$', name | string) -%}
        {{ exceptions.raise_compiler_error("concept(): name must be a snake_case literal, got '" ~ name ~ "'") }}
    {%- endif -%}
    '{{ name }}'
{%- endmacro %}

{% macro concepts() -%}
    {%- for name in varargs -%}{{ phm.concept(name) }}{{ ', ' if not loop.last }}{%- endfor -%}
{%- endmacro %}

{% macro concept_list() -%}
    {{ return(varargs | list) }}
{%- endmacro %}


{#- Every codelist seed that seeds/codelists/codelist_concepts.csv names, in one place. dbt must know a model's
    refs when it parses, before any query can read the concept map, so int_reference__concept_codes loops over
    this list; at run time it checks the list against the map and fails on any difference, and
    tests/unit/test_codelists.py checks it against the CSV. Add a line here when a file is added to the map. -#}
{% macro codelist_seed_names() -%}
    {{ return([
        "bristol-atrial-fibrillation-icd10",
        "local-alcohol-audit-scores",
        "local-alcohol-consumption-alc-cod-partial",
        "local-alcohol-intake-recorded",
        "local-antenatal-booking",
        "local-armed-forces-veteran",
        "local-asylum-seeker-refugee",
        "local-blood-glucose",
        "local-bp-ambulatory-average",
        "local-bp-not-a-reading",
        "local-cha2ds2-vasc",
        "local-copd-admission-j40",
        "local-diabetic-foot-examination",
        "local-gypsy-roma-traveller",
        "local-ld-health-check",
        "local-never-smoked",
        "local-non-hdl-cholesterol",
        "local-terbutaline-inhaler",
        "nhs-drug-refsets-ace_cod",
        "nhs-drug-refsets-aii_cod",
        "nhs-drug-refsets-antihyp_cod",
        "nhsd-primary-care-domain-refsets-afib_cod",
        "nhsd-primary-care-domain-refsets-ast_cod",
        "nhsd-primary-care-domain-refsets-astres_cod",
        "nhsd-primary-care-domain-refsets-autism_cod",
        "nhsd-primary-care-domain-refsets-bmival_cod",
        "nhsd-primary-care-domain-refsets-c19can_cod",
        "nhsd-primary-care-domain-refsets-c19haemcan_cod",
        "nhsd-primary-care-domain-refsets-carehome_cod",
        "nhsd-primary-care-domain-refsets-chd_cod",
        "nhsd-primary-care-domain-refsets-chol2_cod",
        "nhsd-primary-care-domain-refsets-ckd1and2_cod",
        "nhsd-primary-care-domain-refsets-ckd_cod",
        "nhsd-primary-care-domain-refsets-ckdres_cod",
        "nhsd-primary-care-domain-refsets-copd_cod",
        "nhsd-primary-care-domain-refsets-copdres_cod",
        "nhsd-primary-care-domain-refsets-cre_cod",
        "nhsd-primary-care-domain-refsets-dem_cod",
        "nhsd-primary-care-domain-refsets-depr_cod",
        "nhsd-primary-care-domain-refsets-depres_cod",
        "nhsd-primary-care-domain-refsets-diabp_cod",
        "nhsd-primary-care-domain-refsets-dm_cod",
        "nhsd-primary-care-domain-refsets-dmres_cod",
        "nhsd-primary-care-domain-refsets-dmtype1_cod",
        "nhsd-primary-care-domain-refsets-dmtype2_cod",
        "nhsd-primary-care-domain-refsets-epil_cod",
        "nhsd-primary-care-domain-refsets-epilres_cod",
        "nhsd-primary-care-domain-refsets-excessalc_cod",
        "nhsd-primary-care-domain-refsets-exsmok_cod",
        "nhsd-primary-care-domain-refsets-flu_cod",
        "nhsd-primary-care-domain-refsets-hf_cod",
        "nhsd-primary-care-domain-refsets-hfres_cod",
        "nhsd-primary-care-domain-refsets-homebp_cod",
        "nhsd-primary-care-domain-refsets-homeless_cod",
        "nhsd-primary-care-domain-refsets-hyp_cod",
        "nhsd-primary-care-domain-refsets-hypres_cod",
        "nhsd-primary-care-domain-refsets-ifcchbam_cod",
        "nhsd-primary-care-domain-refsets-ld_cod",
        "nhsd-primary-care-domain-refsets-lsmok_cod",
        "nhsd-primary-care-domain-refsets-medrvw_cod",
        "nhsd-primary-care-domain-refsets-mh_cod",
        "nhsd-primary-care-domain-refsets-mildfrail_cod",
        "nhsd-primary-care-domain-refsets-modfrail_cod",
        "nhsd-primary-care-domain-refsets-ndh_cod",
        "nhsd-primary-care-domain-refsets-pad_cod",
        "nhsd-primary-care-domain-refsets-palcare_cod",
        "nhsd-primary-care-domain-refsets-palcareni_cod",
        "nhsd-primary-care-domain-refsets-preg_cod",
        "nhsd-primary-care-domain-refsets-qriskscore_cod",
        "nhsd-primary-care-domain-refsets-sevfrail_cod",
        "nhsd-primary-care-domain-refsets-strk_cod",
        "nhsd-primary-care-domain-refsets-sysbp_cod",
        "nhsd-primary-care-domain-refsets-tia_cod",
        "opensafely-ace-inhibitor-medications",
        "opensafely-angiotensin-ii-receptor-blockers-arbs",
        "opensafely-antidiabetic-drugs",
        "opensafely-asthma-annual-review-qof",
        "opensafely-asthma-inhaler-salbutamol-medication",
        "opensafely-asthma-inhaler-steroid-medication",
        "opensafely-beta-blocker-medications",
        "opensafely-chronic-obstructive-pulmonary-disease-copd-review-qof",
        "opensafely-direct-acting-oral-anticoagulants-doac",
        "opensafely-insulin-medication",
        "opensafely-statin-medication",
        "opensafely-stroke-secondary-care",
        "opensafely-warfarin",
        "primis-covid19-vacc-uptake-carer",
        "primis-covid19-vacc-uptake-notcarer",
        "primis-covid19-vacc-uptake-smhres",
        "reducehf-myocardial-infarction-icd10",
        "ukrr-albumincreatinine-ratio-acr-tests-level",
        "ukrr-egfr-tests-level",
        "user-elsie_horne-anticoagulant_dmd",
        "user-elsie_horne-antiplatelet_dmd",
        "user-elsie_horne-lipid_lowering_dmd",
        "user-markdrussell-COPD_admission",
        "user-markdrussell-asthma-secondary-care",
        "user-markdrussell-heart-failure-secondary-care",
    ]) }}
{%- endmacro %}


{#- An ICD-10 code from SUS (no dot; 3-character codes padded with X, e.g. J46X) matches a hospital codelist code
    when equal, or when the list holds the 3-character category (J44 covers J441). -#}
{% macro icd10_matches(diagnosis_column, code_column) -%}
    (
        {{ diagnosis_column }} = {{ code_column }}
        or (length({{ code_column }}) = 3 and substring({{ diagnosis_column }}, 1, 3) = {{ code_column }})
    )
{%- endmacro %}


{#- The long-term condition registers of int_clinical__registers (frailty severity apart), in one place:
    int_clinical__register_flags pivots them into is_on_<register>_register columns and readers loop over them. -#}
{% macro condition_registers() -%}
    {{ return(['hypertension', 'diabetes', 'ndh', 'copd', 'asthma', 'af', 'chd', 'stroke_tia', 'heart_failure',
               'ckd', 'pad', 'smi', 'learning_disability', 'autism', 'dementia', 'cancer', 'epilepsy',
               'palliative']) }}
{%- endmacro %}
