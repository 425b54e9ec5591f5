"""Code tables: which real code the generator writes for each clinical concept.

Primary care codes (SNOMED CT, dm+d) are taken from the project codelists (seeds/codelists) and are
checked against them (`check_codes`), so a row the generator means as "hypertension" is counted as
hypertension by the marts and by nothing else. Hospital codes (ICD-10 without dot, OPCS-4 without dot,
ECDS SNOMED diagnoses) use the hospital codelists where one exists, otherwise the small tables here.
"""

from __future__ import annotations

from .reference import codes_of, concepts_of_code

# --- GP diagnoses: concept -> ((SNOMED code, weight), ...) --------------------------------------
DIAGNOSIS = {
    "hypertension": (("59621000", 0.85), ("38341003", 0.15)),
    "diabetes_type2": (("44054006", 1.0),),
    "diabetes_type1": (("46635009", 1.0),),
    "ndh": (("700449008", 1.0),),
    "asthma": (("195967001", 1.0),),
    "copd": (("13645005", 1.0),),
    "af": (("49436004", 0.8), ("282825002", 0.2)),
    "chd": (("22298006", 0.30), ("194828000", 0.35), ("414545008", 0.35)),
    "stroke_tia": (("230690007", 0.45), ("422504002", 0.25), ("266257000", 0.30)),
    "heart_failure": (("84114007", 1.0),),
    # CKD stage codes: the stage also sets the person's eGFR level (see CKD_STAGE_EGFR).
    "ckd": (("433144002", 0.35), ("700378005", 0.30), ("700379002", 0.20), ("431857002", 0.11), ("433146000", 0.04)),
    "pad": (("840580004", 0.6), ("399957001", 0.4)),
    "smi": (("58214004", 0.45), ("13746004", 0.55)),
    "learning_disability": (("110359009", 1.0),),
    "autism": (("408856003", 0.5), ("35919005", 0.5)),
    "dementia": (("52448006", 0.6), ("26929004", 0.4)),
    "epilepsy": (("84757009", 1.0),),
    "depression": (("35489007", 0.6), ("370143000", 0.4)),
}
# concept a diagnosis counts towards in the codelists (type 1/2 codes are also diabetes codes)
DIAGNOSIS_CONCEPT = {"diabetes_type1": "diabetes", "diabetes_type2": "diabetes"}
# eGFR range (mL/min/1.73m2) implied by each CKD stage code, same order as DIAGNOSIS["ckd"]
CKD_STAGE_EGFR = ((30.0, 59.0), (45.0, 59.0), (30.0, 44.0), (15.0, 29.0), (6.0, 14.0))

RESOLVED = {
    "hypertension": "162659009",
    "diabetes": "315051004",
    "asthma": "162660004",
    "copd": "941201000000103",
    "heart_failure": "521691000000100",
    "ckd": "939211000000104",
    "epilepsy": "162658001",
    "depression": "196381000000100",
    "smi": "723903001",
    "palliative": "1048611000000104",
    "carer": "199361000000101",
}
RESOLVED_CONCEPT = {"diabetes_type1": "diabetes", "diabetes_type2": "diabetes"}

FRAILTY = {
    "frailty_mild": "925791000000100",
    "frailty_moderate": "925831000000107",
    "frailty_severe": "925861000000102",
}
PALLIATIVE = (("1403151000000103", 0.5), ("526631000000108", 0.2), ("103735009", 0.3))

# cancer sites: (site key, GP SNOMED code, ICD-10 codes for the registry/hospital)
CANCER_SITES = {
    "breast": ("254837009", ("C509", "C504", "C508")),
    "prostate": ("399068003", ("C61X",)),
    "lung": ("363358000", ("C349", "C341", "C343")),
    "colon": ("363406005", ("C189", "C187", "C182")),
    "rectum": ("363351006", ("C20X",)),
    "melanoma": ("93655004", ("C439", "C435", "C436")),
    "bladder": ("399326009", ("C679",)),
    "kidney": ("363518003", ("C64X",)),
    "pancreas": ("363418001", ("C259",)),
    "oesophagus": ("363402007", ("C159",)),
    "stomach": ("363349007", ("C169",)),
    "uterus": ("371973000", ("C541", "C55X")),
    "ovary": ("363443007", ("C56X",)),
    "head_neck": ("363429002", ("C329", "C109", "C019")),
    "brain": ("428061005", ("C719",)),
    "lymphoma": ("118601006", ("C859", "C833")),
    "leukaemia": ("93143009", ("C911", "C920")),
    "myeloma": ("109989006", ("C900",)),
}

# --- GP observations and processes: concept -> SNOMED code (and unit) ----------------------------
OBSERVATION = {
    "systolic_bp": ("271649006", "mmHg"),
    "diastolic_bp": ("271650006", "mmHg"),
    "hba1c": ("999791000000106", "mmol/mol"),
    "cholesterol": ("994351000000103", "mmol/L"),
    "non_hdl_cholesterol": ("1030411000000101", "mmol/L"),
    "bmi": ("60621009", "kg/m2"),
    "qrisk": ("1085871000000105", "%"),
    "egfr": ("1011481000000105", "mL/min/1.73m2"),
    "creatinine": ("1000731000000107", "umol/L"),
    "urine_acr": ("1023491000000104", "mg/mmol"),
    "cha2ds2_vasc": ("713703002", None),
    "alcohol": ("160573003", "U/week"),
    "antenatal_booking": ("424441002", "days"),
}
PROCESS = {
    "smoking_current": (("77176002", 0.4), ("65568007", 0.3), ("160603005", 0.15), ("160604004", 0.15)),
    "smoking_ex": (("8517006", 0.7), ("281018007", 0.3)),
    "smoking_never": (("266919005", 1.0),),
    "alcohol_excess": (("777631000000108", 0.6), ("86933000", 0.4)),
    "flu_vaccination": (("985151000000100", 0.7), ("955691000000108", 0.3)),
    "asthma_review": (("393030008", 0.7), ("270442000", 0.3)),
    "copd_review": (("394703002", 1.0),),
    "medication_review": (("314530002", 0.6), ("182836005", 0.4)),
    "diabetes_foot_check": (("401191002", 1.0),),
    "ld_health_check": (("401131001", 1.0),),
    "homeless": (("32911000", 0.6), ("224226001", 0.4)),
    "care_home": (("248171000000108", 0.6), ("160734000", 0.4)),
    "care_home_visit": (("889311000000109", 1.0),),
    "carer": (("133932002", 0.6), ("224484003", 0.4)),
    "veteran": (("753651000000107", 1.0),),
    "gypsy_roma_traveller": (("365949003", 1.0),),
    "asylum_refugee": (("446654005", 0.6), ("161149005", 0.4)),
}
PROCESS_CONCEPT = {"care_home_visit": "care_home", "alcohol_excess": "alcohol"}

# --- dm+d medicines: key -> (code, concepts it must belong to, quantity per 28 days) -------------
MEDICINE = {
    "ramipril_5": ("42381611000001104", {"ace_inhibitor", "antihypertensive"}, 28),
    "ramipril_10": ("42381211000001101", {"ace_inhibitor", "antihypertensive"}, 28),
    "lisinopril_10": ("42376111000001109", {"ace_inhibitor", "antihypertensive"}, 28),
    "losartan_50": ("42377011000001106", {"arb", "antihypertensive"}, 28),
    "candesartan_8": ("42372111000001105", {"arb", "antihypertensive"}, 28),
    "amlodipine_5": ("39732011000001102", {"antihypertensive"}, 28),
    "amlodipine_10": ("39731911000001109", {"antihypertensive"}, 28),
    "indapamide_2_5": ("39696211000001108", {"antihypertensive"}, 28),
    "bendroflumethiazide_2_5": ("42206611000001103", {"antihypertensive"}, 28),
    "bisoprolol_2_5": ("42371311000001103", {"antihypertensive", "beta_blocker"}, 28),
    "bisoprolol_5": ("42371511000001109", {"antihypertensive", "beta_blocker"}, 28),
    "doxazosin_4": ("42209311000001101", {"antihypertensive"}, 28),
    "furosemide_40": ("42294811000001108", {"antihypertensive"}, 28),
    "spironolactone_25": ("42216511000001100", {"antihypertensive"}, 28),
    "atorvastatin_20": ("320030001", {"statin", "lipid_lowering"}, 28),
    "atorvastatin_40": ("320031002", {"statin", "lipid_lowering"}, 28),
    "atorvastatin_80": ("134489001", {"statin", "lipid_lowering"}, 28),
    "simvastatin_40": ("320000009", {"statin", "lipid_lowering"}, 28),
    "rosuvastatin_10": ("408036003", {"statin", "lipid_lowering"}, 28),
    "apixaban_5": ("703908001", {"oral_anticoagulant"}, 56),
    "rivaroxaban_20": ("19842211000001107", {"oral_anticoagulant"}, 28),
    "edoxaban_60": ("29903411000001101", {"oral_anticoagulant"}, 28),
    "warfarin_1": ("319733000", {"oral_anticoagulant"}, 56),
    "warfarin_3": ("319734006", {"oral_anticoagulant"}, 28),
    "aspirin_75": ("319773006", {"antiplatelet"}, 28),
    "clopidogrel_75": ("319799004", {"antiplatelet"}, 28),
    "metformin_500": ("325278007", {"other_antidiabetic"}, 56),
    "metformin_mr_500": ("386047000", {"other_antidiabetic"}, 56),
    "gliclazide_80": ("325242002", {"other_antidiabetic"}, 56),
    "sitagliptin_100": ("424345005", {"other_antidiabetic"}, 28),
    "empagliflozin_10": ("25290511000001101", {"other_antidiabetic"}, 28),
    "dapagliflozin_10": ("703680009", {"other_antidiabetic"}, 28),
    "linagliptin_5": ("19525211000001103", {"other_antidiabetic"}, 28),
    "insulin_glargine": ("400877001", {"insulin"}, 5),
    "insulin_aspart": ("3468711000001104", {"insulin"}, 5),
    "insulin_detemir": ("7594211000001102", {"insulin"}, 5),
    "salbutamol_inhaler": ("35936511000001108", {"saba"}, 1),
    "beclometasone_inhaler": ("320537007", {"ics"}, 1),
    "beclometasone_formoterol": ("12911011000001100", {"ics"}, 1),
    "budesonide_formoterol": ("134498003", {"ics"}, 1),
    "fluticasone_vilanterol": ("23661411000001103", {"ics"}, 1),
    "trimbow": ("34681611000001100", {"ics"}, 1),
    # common repeat medicines outside the project codelists (polypharmacy realism): dm+d VMPs
    "citalopram_20": ("42269411000001107", set(), 28),
    "sertraline_50": ("39704111000001102", set(), 28),
    "paracetamol_500": ("322236009", set(), 100),
    "omeprazole_20": ("42356411000001102", set(), 28),
    "lansoprazole_30": ("42354611000001108", set(), 28),
}

# --- hospital: ICD-10 (no dot, 3-character codes padded with X as in SUS) ------------------------
# (code list concept, codes) where a hospital codelist exists; the codes are checked against it.
ICD_FROM_LIST = {
    "copd_admission": ("J441", "J440", "J449"),
    "asthma_admission": ("J459", "J450", "J46"),
    "heart_failure_admission": ("I500", "I509", "I501", "I110"),
    "stroke_admission": ("I639", "I634", "I635", "I619", "I609"),
    "mi_admission": ("I214", "I219", "I211", "I210"),
    "af_admission": ("I489", "I480", "I481"),
}
# comorbidity -> ICD-10 code written among the secondary diagnoses
COMORBIDITY_ICD = {
    "hypertension": "I10X",
    "diabetes_type2": "E119",
    "diabetes_type1": "E109",
    "copd": "J449",
    "asthma": "J459",
    "af": "I489",
    "chd": "I251",
    "stroke_tia": "I693",
    "heart_failure": "I509",
    "ckd": "N184",
    "pad": "I739",
    "smi": "F209",
    "learning_disability": "F79X",
    "autism": "F840",
    "dementia": "F03X",
    "epilepsy": "G409",
    "depression": "F329",
    "frailty": "R54X",
    "smoker": "F171",
    "palliative": "Z515",
}
FALL_ICD = ("W010", "W060", "W100", "W180", "W190", "W199")

# Emergency admission causes: key -> (ICD-10 primary codes, ECDS SNOMED diagnosis, condition or None)
EMERGENCY_CAUSE = {
    "copd": (ICD_FROM_LIST["copd_admission"], "195951007", "copd"),
    "asthma": (ICD_FROM_LIST["asthma_admission"], "195967001", "asthma"),
    "heart_failure": (ICD_FROM_LIST["heart_failure_admission"], "84114007", "heart_failure"),
    "af": (ICD_FROM_LIST["af_admission"], "49436004", "af"),
    "mi": (ICD_FROM_LIST["mi_admission"], "22298006", "chd"),
    "angina": (("I200", "I209"), "29857009", "chd"),
    "stroke": (ICD_FROM_LIST["stroke_admission"], "230690007", "stroke_tia"),
    "hypo": (("E162", "E160"), "302866003", "diabetes"),
    "dka": (("E101",), "420422005", "diabetes_type1"),
    "diabetic_foot": (("E115", "E116"), "128045006", "diabetes_type2"),
    "seizure": (("G409", "G403", "R568"), "91175000", "epilepsy"),
    "delirium": (("F059", "N390"), "2776000", "dementia"),
    "psychosis": (("F209", "F319", "F29X"), "69322001", "smi"),
    "cancer": (None, "363346000", "cancer"),  # primary = the person's tumour site
    "aki": (("N179",), "14669001", "ckd"),
    "hip_fracture": (("S7200", "S7210", "S7201"), "5913000", None),
    "fall_injury": (("S0600", "S099X", "S5250", "S3240", "R296"), "82271004", None),
    "pneumonia": (("J189", "J181"), "233604007", None),
    "lrti": (("J22X", "J209"), "50417007", None),
    "uti": (("N390", "N10X"), "68566005", None),
    "sepsis": (("A419", "A415"), "91302008", None),
    "cellulitis": (("L039", "L031"), "128045006", None),
    "chest_pain": (("R074", "R072"), "29857009", None),
    "abdominal_pain": (("R104", "R101"), "21522001", None),
    "syncope": (("R55X",), "271594007", None),
    "gastroenteritis": (("A099", "A084"), "25374005", None),
    "appendicitis": (("K358", "K359"), "74400008", None),
    "gallstones": (("K802", "K810"), "76581006", None),
    "pancreatitis": (("K859",), "197456007", None),
    "bronchiolitis": (("J219", "J210"), "4120002", None),
    "viral_infection": (("B349", "R509"), "34014006", None),
    "tonsillitis": (("J039",), "90176007", None),
    "overdose": (("T391", "T424", "T430"), "55680006", None),
    "head_injury": (("S099X", "S0600"), "82271004", None),
    "anaemia": (("D649", "D509"), "271737000", None),
    "hypertension": (("I10X",), "38341003", None),
    "dehydration": (("E86X",), "34095006", None),
    "gi_bleed": (("K922", "K921"), "74474003", None),
    "constipation": (("K590",), "14760008", None),
    "covid": (("U071",), "840539006", None),
}
# generic causes' weights by age band, and non-admitted A&E diagnoses with theirs, are in parameters.yaml (hospital)

# Elective and day-case procedures: key -> (OPCS-4, ICD-10 primary, sex (None/1/2)); their mix by age band and
# day-case shares are in parameters.yaml (hospital.elective_procedures)
ELECTIVE_PROCEDURES = {
    "cataract": ("C751", "H259", None),
    "hip_replacement": ("W371", "M169", None),
    "knee_replacement": ("W401", "M179", None),
    "colonoscopy": ("H229", "K573", None),
    "upper_gi_endoscopy": ("G451", "K219", None),
    "cystoscopy": ("M459", "R31X", None),
    "hernia_repair": ("T202", "K409", 1),
    "cholecystectomy": ("J183", "K802", 2),
    "skin_lesion": ("S069", "D229", None),
    "carpal_tunnel": ("A651", "G560", None),
    "turp": ("M651", "N40X", 1),
    "hysterectomy": ("Q074", "D259", 2),
    "joint_injection": ("W903", "M199", None),
    "tonsillectomy": ("F341", "J350", None),
    "grommets": ("D151", "H653", None),
    "wisdom_teeth": ("F091", "K011", None),
}
# procedures tied to a condition (elective)
PCI = ("K751", "I209")
PACEMAKER = ("K611", "I495")
CHEMOTHERAPY = "X352"
TOOTH_EXTRACTION = (("F104", "F091"), "K021")
DELIVERY = {
    "normal": ("R249", "O800"),
    "caesarean_elective": ("R179", "O821"),
    "caesarean_emergency": ("R189", "O829"),
    "assisted": ("R219", "O811"),
}
ANTENATAL_ADMISSION = ("O211", "O470", "O234", "O990")
POSTNATAL_ADMISSION = ("O862", "O864", "O720")

# Outpatient / RTT treatment function codes
TFC = {
    "general_surgery": "100",
    "urology": "101",
    "trauma_orthopaedics": "110",
    "ent": "120",
    "ophthalmology": "130",
    "oral_surgery": "140",
    "plastic_surgery": "160",
    "general_medicine": "300",
    "gastroenterology": "301",
    "endocrinology": "302",
    "diabetic_medicine": "307",
    "cardiology": "320",
    "dermatology": "330",
    "respiratory": "340",
    "nephrology": "361",
    "medical_oncology": "370",
    "neurology": "400",
    "rheumatology": "410",
    "paediatrics": "420",
    "geriatric_medicine": "430",
    "obstetrics": "501",
    "gynaecology": "502",
    "clinical_oncology": "800",
    "pain_management": "191",
}


def check_codes() -> list[str]:
    """Problems with the code tables against the codelists (empty list = all good)."""
    problems = []

    def expect(code: str, concept: str, role: str) -> None:
        if code not in codes_of(concept, role):
            problems.append(f"{code} is not in codelist {concept}/{role}")
        others = {c for c, r in concepts_of_code(code)} - {concept, "diabetes", "diabetes_type1", "diabetes_type2"}
        if others and concept not in ("diabetes_type1", "diabetes_type2"):
            problems.append(f"{code} ({concept}) is also in {sorted(others)}")

    for concept, choices in DIAGNOSIS.items():
        for code, _ in choices:
            expect(code, concept, "diagnosis")
            if concept in DIAGNOSIS_CONCEPT and code not in codes_of(DIAGNOSIS_CONCEPT[concept], "diagnosis"):
                problems.append(f"{code} is not a {DIAGNOSIS_CONCEPT[concept]} code")
    for concept, code in RESOLVED.items():
        if code not in codes_of(concept, "resolved"):
            problems.append(f"{code} is not in {concept}/resolved")
    for concept, code in FRAILTY.items():
        expect(code, concept, "diagnosis")
    for code, _ in PALLIATIVE:
        expect(code, "palliative", "diagnosis")
    for site, (code, _) in CANCER_SITES.items():
        if code not in codes_of("cancer", "diagnosis"):
            problems.append(f"cancer {site}: {code} not in the cancer codelist")
    roles = {"observation", "procedure", "social"}
    for concept, (code, _) in OBSERVATION.items():
        if not any(code in codes_of(concept, r) for r in roles):
            problems.append(f"{code} not in {concept}")
    for concept, choices in PROCESS.items():
        target = PROCESS_CONCEPT.get(concept, concept)
        for code, _ in choices:
            if not any(code in codes_of(target, r) for r in roles):
                problems.append(f"{code} not in {target}")
    for key, (code, concepts, _) in MEDICINE.items():
        actual = {c for c, r in concepts_of_code(code) if r == "medication"}
        if actual != set(concepts) and not (
            set(concepts) <= actual and actual - set(concepts) <= {"lipid_lowering", "statin"}
        ):
            problems.append(f"medicine {key} {code}: in {sorted(actual)}, expected {sorted(concepts)}")
    for concept, codes in ICD_FROM_LIST.items():
        for code in codes:
            if code not in codes_of(concept, "hospital"):
                problems.append(f"{code} not in {concept}")
    return problems
