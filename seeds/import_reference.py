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
    "local-alcohol-intake-recorded": [("160573003", "Alcohol intake"), ("228273003", "Finding relating to alcohol drinking behavior")],
    "local-diabetic-foot-examination": [("401191002", "Diabetic foot examination")],
    "local-antenatal-booking": [("424441002", "Prenatal initial visit")],
    "local-armed-forces-veteran": [("753651000000107", "Served in armed forces")],
    "local-asylum-seeker-refugee": [("446654005", "Refugee"), ("161149005", "Asylum seeker")],
    "local-gypsy-roma-traveller": [("365949003", "Traveller lifestyle")],
}

# PCN -> district, and the one PCN split in two to make the 22 integrated neighbourhoods (synthetic names).
PCN_DISTRICT = {
    "U09738": "South Cambridgeshire", "U11694": "Peterborough", "U13771": "Peterborough", "U16004": "East Cambridgeshire",
    "U19471": "South Cambridgeshire", "U20640": "Huntingdonshire", "U24388": "Cambridge", "U30123": "East Cambridgeshire",
    "U55369": "Fenland", "U63072": "Huntingdonshire", "U65941": "Cambridge", "U66904": "Fenland", "U71777": "Cambridge",
    "U75549": "Peterborough", "U79015": "Fenland", "U83524": "South Cambridgeshire", "U85953": "Peterborough",
    "U88254": "Cambridge", "U89134": "Peterborough", "U89554": "Huntingdonshire", "U95574": "Huntingdonshire",
}
DISTRICT_CODE = {
    "Cambridge": "E07000008", "East Cambridgeshire": "E07000009", "Fenland": "E07000010",
    "Huntingdonshire": "E07000011", "South Cambridgeshire": "E07000012", "Peterborough": "E06000031",
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
    manifest = []
    for name in files:
        target = out / f"{name}.csv"
        if name in LOCAL_CODELISTS:
            with open(target, "w", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(["code", "term"])
                w.writerows(LOCAL_CODELISTS[name])
            source, version = "local, unpublished (no published codelist in shared/reference)", ""
        else:
            src = SHARED / "codelists" / f"{name}.csv"
            shutil.copyfile(src, target)
            p = prov[f"codelists/{name}.csv"]
            source = f"{p['source_repo']}:{p['source_path']}@{p['commit']}"
            version = p["opencodelists"]
        with open(target, newline="") as f:
            rows = sum(1 for _ in csv.reader(f)) - 1
        manifest.append({"file": f"codelists/{name}.csv", "rows": str(rows), "source": source,
                         "opencodelists_version": version, "sha256": sha256(target)})
    return manifest


def import_imd(prov: dict[str, dict[str, str]]) -> dict[str, str]:
    target = SEEDS / "imd2019_lsoa.csv"
    with open(SHARED / "imd2019_cambs_peterborough.csv", newline="") as f, open(target, "w", newline="") as g:
        r = csv.reader(f)
        next(r)
        w = csv.writer(g, lineterminator="\n")
        w.writerow(["lsoa_code", "lsoa_name", "lad_code", "lad_name", "imd_score", "imd_rank", "imd_decile",
                    "population", "population_0_15", "population_16_59", "population_60_plus"])
        for row in r:
            w.writerow(row[:11])
    p = prov["imd2019_cambs_peterborough.csv"]
    return {"file": "imd2019_lsoa.csv", "rows": "487", "source": f"{p['source_repo']} (columns renamed to snake_case, working-age column dropped)",
            "opencodelists_version": "", "sha256": sha256(target)}


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
        rows.append([p["PRACTICE_CODE"], p["PRACTICE_NAME"].title(), p["PRACTICE_POSTCODE"], p["PCN_CODE"],
                     p["PCN_NAME"].title().replace("Pcn", "PCN"), neighbourhood,
                     "North" if district in NORTH else "South", district, DISTRICT_CODE[district],
                     "E06000031" if district == "Peterborough" else "E10000003"])
    target = SEEDS / "practice_map.csv"
    with open(target, "w", newline="") as g:
        w = csv.writer(g, lineterminator="\n")
        w.writerow(["practice_code", "practice_name", "practice_postcode", "pcn_code", "pcn_name", "neighbourhood",
                    "place", "district", "district_code", "la_code"])
        w.writerows(rows)
    n = len({r[5] for r in rows})
    if n != 22:
        sys.exit(f"practice_map: expected 22 neighbourhoods, built {n}")
    p = prov["practices_pcn_cambs_peterborough_2022-01.csv"]
    return {"file": "practice_map.csv", "rows": str(len(rows)),
            "source": f"{p['source_repo']}:{p['source_path']}@{p['commit']} (practice and PCN); district, neighbourhood and place are a synthetic local mapping",
            "opencodelists_version": "", "sha256": sha256(target)}


def main() -> None:
    prov = provenance()
    manifest = [import_imd(prov), import_practices(prov)] + import_codelists(prov)
    with open(SEEDS / "reference_manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(manifest[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(manifest)
    print(f"imported {len(manifest)} reference files into {SEEDS}")


if __name__ == "__main__":
    main()
