"""Copy the reference data the project needs from ../shared/reference into seeds/, noting each file's source.

Run from the repository root when the shared reference changes:  python seeds/import_reference.py
Codelists are copied byte for byte; the IMD and practice extracts are reshaped (snake_case columns, and the
practice -> PCN -> neighbourhood -> place map) as described in seeds/reference_manifest.csv.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import sys
from pathlib import Path

SEEDS = Path(__file__).resolve().parent
SHARED = SEEDS.parent.parent / "shared" / "reference"

# Codelists with no published file here: small local lists, marked unpublished (clinical-spec "Codelists").
LOCAL_CODELISTS = {
    "local-non-hdl-cholesterol": [("1030411000000101", "Non high density lipoprotein cholesterol level")],
    "local-cha2ds2-vasc": [("713703002", "CHA2DS2-VASc score")],
    "local-never-smoked": [("266919005", "Never smoked tobacco")],
    "local-alcohol-intake-recorded": [
        ("160573003", "Alcohol intake"),
        ("228273003", "Finding relating to alcohol drinking behavior"),
    ],
    "local-diabetic-foot-examination": [("401191002", "Diabetic foot examination")],
    "local-antenatal-booking": [("424441002", "Prenatal initial visit")],
    "local-armed-forces-veteran": [("753651000000107", "Served in armed forces")],
    "local-asylum-seeker-refugee": [("446654005", "Refugee"), ("161149005", "Asylum seeker")],
    "local-gypsy-roma-traveller": [("365949003", "Traveller lifestyle")],
    # Spec v2. ALC_COD (nhsd-primary-care-domain-refsets/alc_cod) is published on OpenCodelists, but no study
    # repository here commits it: these are the codes the stored OpenCodelists page of version 20200812 shows (the
    # page is cut off after ~40 codes), transcribed; replace with the full refset when it can be imported.
    "local-alcohol-consumption-alc-cod-partial": [
        ("105542008", "Current non-drinker of alcohol"),
        ("1082631000000102", "Alcohol units consumed per day"),
        ("1082641000000106", "Alcohol units consumed per week"),
        ("10939881000119105", "Unhealthy alcohol drinking behavior"),
        ("160573003", "Alcohol intake"),
        ("160575005", "Light drinker - 1-2u/day"),
        ("160576006", "Moderate drinker - 3-6u/day"),
        ("160577002", "Heavy drinker - 7-9u/day"),
        ("160578007", "Very heavy drinker - greater than 9 units/day"),
        ("160579004", "Stopped drinking alcohol"),
        ("160582009", "Ex-trivial drinker - less than 1 unit/day"),
        ("160583004", "Ex-light drinker - (1-2u/day)"),
        ("160584005", "Ex-moderate drinker - (3-6u/d)"),
        ("160585006", "Ex-heavy drinker - (7-9u/day)"),
        ("160587003", "Ex-very heavy drinker - greater than 9 units/day"),
        ("160588008", "Drinker of hard liquor"),
        ("160589000", "Beer drinker"),
        ("160590009", "Drinks beer and hard liquor"),
        ("160591008", "Drinks wine"),
        ("160592001", "Alcohol intake above recommended sensible limits"),
        ("160593006", "Alcohol intake within recommended sensible limits"),
        ("198421000000108", "Hazardous alcohol use"),
        ("198431000000105", "Harmful alcohol use"),
        ("219006", "Current drinker of alcohol"),
        ("228274009", "Lifetime non-drinker"),
        ("228276006", "Occasional drinker"),
        ("228277002", "Light drinker"),
        ("228278007", "Fairly heavy drinker"),
        ("228279004", "Very heavy drinker"),
        ("228281002", "Problem drinker"),
        ("228315001", "Binge drinker"),
        ("228316000", "Alcoholic binges exceeding sensible amounts"),
        ("228317009", "Alcoholic binges exceeding safe amounts"),
        ("228326007", "Drinking binge"),
        ("230085005", "Beer intake"),
        ("230086006", "Wine intake"),
        ("230088007", "Hard liquor intake"),
        ("86933000", "Heavy drinker"),
        ("447087000", "Drinks alcoholic cider"),
        ("748381000000102", "Drinks real ale"),
    ],
    # AUDIT / AUDIT-C scores are the AUDIT_COD / AUDITC_COD refsets, not found committed anywhere reachable here.
    "local-alcohol-audit-scores": [
        ("443280005", "Alcohol use disorders identification test - consumption score (AUDIT-C)"),
        ("763256006", "Alcohol use disorders identification test score (AUDIT)"),
    ],
    # GLUC_COD (nhsd-primary-care-domain-refsets/gluc_cod) is published but not committed anywhere reachable here.
    "local-blood-glucose": [
        ("997671000000106", "Blood glucose level"),
        ("1010671000000102", "Plasma glucose level"),
    ],
    # The LD annual health check refset of the LD health check business rules was not found in any public repository.
    "local-ld-health-check": [("401131001", "Learning disabilities health assessment")],
    # The published COPD admission list starts at J41; the spec counts J40-J44 (clinical spec v2: J40 is a documented
    # local addition beside the published list).
    "local-copd-admission-j40": [("J40", "Bronchitis, not specified as acute or chronic")],
    # No published dm+d terbutaline list found (the OpenSAFELY SABA list is salbutamol only).
    "local-terbutaline-inhaler": [
        ("320208003", "Terbutaline 500micrograms/dose dry powder inhaler"),
        ("3305011000001104", "Bricanyl 500micrograms/dose Turbohaler (AstraZeneca UK Ltd)"),
    ],
}

LOCAL_SOURCE = "local, unpublished (no published codelist in shared/reference)"
LOCAL_SOURCES = {
    "local-alcohol-consumption-alc-cod-partial": (
        "local, unpublished: partial transcription of nhsd-primary-care-domain-refsets/alc_cod/20200812 as shown on "
        "opencodelists.org (published list exists; full file not reachable here, replace when it is)"
    ),
    "local-alcohol-audit-scores": "local, unpublished: AUDIT / AUDIT-C score codes (AUDIT_COD / AUDITC_COD not reachable here); verify codes",
    "local-blood-glucose": (
        "local, unpublished: GLUC_COD (nhsd-primary-care-domain-refsets/gluc_cod/20250912) is published but not "
        "reachable here; replace when it is"
    ),
    "local-ld-health-check": "local, unpublished: LD annual health check refset not found in any public repository; verify code",
    "local-terbutaline-inhaler": "local, unpublished: no published dm+d terbutaline list found; verify dm+d codes",
    "local-copd-admission-j40": (
        "local, unpublished: J40 added beside user/markdrussell/COPD_admission (which starts at J41) for the spec's "
        "J40-J44 emergency COPD admissions"
    ),
    "local-bp-not-a-reading": (
        "local, unpublished: codes of sysbp_cod + diabp_cod whose term names a minimum, maximum, night or sleeping "
        "summary (derived by term from the published files)"
    ),
    "local-bp-ambulatory-average": (
        "local, unpublished: codes of sysbp_cod + diabp_cod whose term names an ambulatory, daytime, 24-hour or home "
        "average (derived by term from the published files; home averages are also in homebp_cod)"
    ),
}

# BP codes that are summaries of an ambulatory or home series, chosen by term from the published BP lists (spec v2,
# "Latest values"): minimum / maximum / night-time / sleeping summaries are not readings of the usual pressure;
# ambulatory, daytime, 24-hour and home averages are readings compared with NICE's home thresholds.
BP_SOURCE_LISTS = ("nhsd-primary-care-domain-refsets-sysbp_cod", "nhsd-primary-care-domain-refsets-diabp_cod")
BP_NOT_A_READING_WORDS = ("minimum", "maximum", "night", "sleep")
BP_AMBULATORY_WORDS = ("ambulatory", "day interval", "24 hour", "home")


def bp_summary_codelists() -> dict[str, list[tuple[str, str]]]:
    not_a_reading, ambulatory = [], []
    for name in BP_SOURCE_LISTS:
        with open(SHARED / "codelists" / f"{name}.csv", newline="") as f:
            for row in csv.DictReader(f):
                term = row["term"].strip().lower()
                if any(w in term for w in BP_NOT_A_READING_WORDS):
                    not_a_reading.append((row["code"], row["term"].strip()))
                elif any(w in term for w in BP_AMBULATORY_WORDS):
                    ambulatory.append((row["code"], row["term"].strip()))
    return {"local-bp-not-a-reading": sorted(not_a_reading), "local-bp-ambulatory-average": sorted(ambulatory)}


# PCN -> district, and the one PCN split in two to make the 22 integrated neighbourhoods (synthetic names).
PCN_DISTRICT = {
    "U09738": "South Cambridgeshire",
    "U11694": "Peterborough",
    "U13771": "Peterborough",
    "U16004": "East Cambridgeshire",
    "U19471": "South Cambridgeshire",
    "U20640": "Huntingdonshire",
    "U24388": "Cambridge",
    "U30123": "East Cambridgeshire",
    "U55369": "Fenland",
    "U63072": "Huntingdonshire",
    "U65941": "Cambridge",
    "U66904": "Fenland",
    "U71777": "Cambridge",
    "U75549": "Peterborough",
    "U79015": "Fenland",
    "U83524": "South Cambridgeshire",
    "U85953": "Peterborough",
    "U88254": "Cambridge",
    "U89134": "Peterborough",
    "U89554": "Huntingdonshire",
    "U95574": "Huntingdonshire",
}
DISTRICT_CODE = {
    "Cambridge": "E07000008",
    "East Cambridgeshire": "E07000009",
    "Fenland": "E07000010",
    "Huntingdonshire": "E07000011",
    "South Cambridgeshire": "E07000012",
    "Peterborough": "E06000031",
}
NORTH = {"Peterborough", "Fenland", "Huntingdonshire"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def provenance() -> dict[str, dict[str, str]]:
    with open(SHARED / "provenance.csv", newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


def import_codelists(prov: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    out = SEEDS / "codelists"
    with open(out / "codelist_concepts.csv", newline="") as f:
        files = sorted({row["file"] for row in csv.DictReader(f)})
    local_lists = {**LOCAL_CODELISTS, **bp_summary_codelists()}
    manifest = []
    for name in files:
        target = out / f"{name}.csv"
        if name in local_lists:
            with open(target, "w", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(["code", "term"])
                w.writerows(local_lists[name])
            source, version = LOCAL_SOURCES.get(name, LOCAL_SOURCE), ""
        else:
            src = SHARED / "codelists" / f"{name}.csv"
            shutil.copyfile(src, target)
            p = prov[f"codelists/{name}.csv"]
            source = f"{p['source_repo']}:{p['source_path']}@{p['commit']}"
            version = p["opencodelists"]
        with open(target, newline="") as f:
            rows = sum(1 for _ in csv.reader(f)) - 1
        manifest.append(
            {
                "file": f"codelists/{name}.csv",
                "rows": str(rows),
                "source": source,
                "opencodelists_version": version,
                "sha256": sha256(target),
            }
        )
    return manifest


def import_imd(prov: dict[str, dict[str, str]]) -> dict[str, str]:
    target = SEEDS / "imd2019_lsoa.csv"
    with open(SHARED / "imd2019_cambs_peterborough.csv", newline="") as f, open(target, "w", newline="") as g:
        r = csv.reader(f)
        next(r)
        w = csv.writer(g, lineterminator="\n")
        w.writerow(
            [
                "lsoa_code",
                "lsoa_name",
                "lad_code",
                "lad_name",
                "imd_score",
                "imd_rank",
                "imd_decile",
                "population",
                "population_0_15",
                "population_16_59",
                "population_60_plus",
            ]
        )
        for row in r:
            w.writerow(row[:11])
    p = prov["imd2019_cambs_peterborough.csv"]
    return {
        "file": "imd2019_lsoa.csv",
        "rows": "487",
        "source": f"{p['source_repo']} (columns renamed to snake_case, working-age column dropped)",
        "opencodelists_version": "",
        "sha256": sha256(target),
    }


def import_practices(prov: dict[str, dict[str, str]]) -> dict[str, str]:
    with open(SHARED / "practices_pcn_cambs_peterborough_2022-01.csv", newline="") as f:
        practices = list(csv.DictReader(f))
    for p in practices:  # the one unallocated practice (PE2, Peterborough) joins its local PCN
        if p["PCN_CODE"] == "U":
            p["PCN_CODE"], p["PCN_NAME"] = "U75549", "SOUTH PETERBOROUGH PCN"
    split_pcn = sorted(p["PRACTICE_CODE"] for p in practices if p["PCN_CODE"] == "U13771")
    rows = []
    for p in sorted(practices, key=lambda p: (p["PCN_CODE"], p["PRACTICE_CODE"])):
        district = PCN_DISTRICT[p["PCN_CODE"]]
        pcn_title = p["PCN_NAME"].removesuffix(" PCN").title().replace("Bmc", "BMC").replace("A1", "A1")
        neighbourhood = f"{pcn_title} Neighbourhood"
        if p["PCN_CODE"] == "U13771":  # the largest Peterborough PCN serves two neighbourhoods
            half = "East" if split_pcn.index(p["PRACTICE_CODE"]) < len(split_pcn) // 2 else "West"
            neighbourhood = f"{pcn_title} {half} Neighbourhood"
        rows.append(
            [
                p["PRACTICE_CODE"],
                p["PRACTICE_NAME"].title(),
                p["PRACTICE_POSTCODE"],
                p["PCN_CODE"],
                p["PCN_NAME"].title().replace("Pcn", "PCN"),
                neighbourhood,
                "North" if district in NORTH else "South",
                district,
                DISTRICT_CODE[district],
                "E06000031" if district == "Peterborough" else "E10000003",
            ]
        )
    target = SEEDS / "practice_map.csv"
    with open(target, "w", newline="") as g:
        w = csv.writer(g, lineterminator="\n")
        w.writerow(
            [
                "practice_code",
                "practice_name",
                "practice_postcode",
                "pcn_code",
                "pcn_name",
                "neighbourhood",
                "place",
                "district",
                "district_code",
                "la_code",
            ]
        )
        w.writerows(rows)
    n = len({r[5] for r in rows})
    if n != 22:
        sys.exit(f"practice_map: expected 22 neighbourhoods, built {n}")
    p = prov["practices_pcn_cambs_peterborough_2022-01.csv"]
    return {
        "file": "practice_map.csv",
        "rows": str(len(rows)),
        "source": f"{p['source_repo']}:{p['source_path']}@{p['commit']} (practice and PCN); district, neighbourhood and place are a synthetic local mapping",
        "opencodelists_version": "",
        "sha256": sha256(target),
    }


def main() -> None:
    prov = provenance()
    manifest = [import_imd(prov), import_practices(prov), *import_codelists(prov)]
    with open(SEEDS / "reference_manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(manifest[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(manifest)
    print(f"imported {len(manifest)} reference files into {SEEDS}")


if __name__ == "__main__":
    main()
