"""The person spine's hand-written patients (tests/unit/test_dbt_person_spine.py checks them): every raw DuckDB
written by tests/helpers/dbt_build.py's `create_raw` holds them, beside the golden and disclosure patients.
Reference date 2025-02-28 (a non-leap year: the 29 February birthday is not reached yet on it)."""

from __future__ import annotations

SOUTH, NORTH = "D81028", "D81023"  # practice_map: South (PCN U09738) and North (PCN U11694)
LSOA_DECILE_10 = "E01017955"  # Cambridge, IMD decile 10, county E10000003
LSOA_DECILE_1 = "E01015593"  # Peterborough, IMD decile 1, unitary E06000031
LSOA_DECILE_3 = "E01015618"  # Peterborough, IMD decile 3

DEFAULT_REGISTRATION = dict(
    practice_code=SOUTH,
    date_of_birth="1980-06-15",
    sex="2",
    ethnic_category="A",
    lsoa_code=LSOA_DECILE_10,
    registration_start_date="2010-01-01",
    registration_end_date=None,
    date_of_death=None,
    type1_opt_out=False,
)

# patient id -> registrations (overrides of DEFAULT_REGISTRATION), expected_in_population, expected_columns.
PATIENTS: dict[str, dict] = {
    # Baseline: open registration, alive, every column resolved.
    "baseline": dict(
        registrations=[{}],
        expected_in_population=True,
        expected_columns=dict(
            practice_code=SOUTH,
            pcn_code="U09738",
            place="South",
            age=44,
            age_band="40-59",
            sex="Female",
            ethnicity_group="White",
            lsoa_code=LSOA_DECILE_10,
            imd_decile=10,
            imd_quintile=5,
            district_code="E07000008",
            la_code="E10000003",
            type1_opt_out=False,
        ),
    ),
    # Died the day before the reference date: not alive on it.
    "dead_before_ref": dict(registrations=[dict(date_of_death="2025-02-27")], expected_in_population=False),
    # Died on the reference date: alive means death after it (ehrQL is_alive_on), so excluded.
    "dead_on_ref": dict(registrations=[dict(date_of_death="2025-02-28")], expected_in_population=False),
    # Died the day after (a point-in-time rebuild sees later deaths): alive on the reference date.
    "dead_after_ref": dict(registrations=[dict(date_of_death="2025-03-01")], expected_in_population=True),
    # Death recorded only on an older, closed registration still counts.
    "dead_on_old_registration": dict(
        registrations=[
            dict(
                practice_code=NORTH,
                registration_start_date="2000-01-01",
                registration_end_date="2015-01-01",
                date_of_death="2024-06-01",
            ),
            dict(registration_start_date="2015-01-01"),
        ],
        expected_in_population=False,
    ),
    # Registration ended the day before: not registered.
    "ended_before_ref": dict(registrations=[dict(registration_end_date="2025-02-27")], expected_in_population=False),
    # Registration ended on the reference date: the end day is not a registered day (end must be after it).
    "ended_on_ref": dict(registrations=[dict(registration_end_date="2025-02-28")], expected_in_population=False),
    # Registration ends the day after: registered.
    "ended_after_ref": dict(registrations=[dict(registration_end_date="2025-03-01")], expected_in_population=True),
    # Registration starts on the reference date: registered (start <= reference date).
    "starts_on_ref": dict(registrations=[dict(registration_start_date="2025-02-28")], expected_in_population=True),
    # Registration starts the day after: not yet registered.
    "starts_after_ref": dict(registrations=[dict(registration_start_date="2025-03-01")], expected_in_population=False),
    # Two open registrations: the latest start wins, and demographics come from it.
    "two_registrations_latest_wins": dict(
        registrations=[
            dict(practice_code=SOUTH, registration_start_date="2015-01-01", lsoa_code=LSOA_DECILE_10),
            dict(practice_code=NORTH, registration_start_date="2020-05-01", lsoa_code=LSOA_DECILE_3),
        ],
        expected_in_population=True,
        expected_columns=dict(practice_code=NORTH, place="North", pcn_code="U11694", imd_decile=3, imd_quintile=2),
    ),
    # A later registration that starts after the reference date does not displace the current one.
    "future_registration_ignored": dict(
        registrations=[
            dict(practice_code=SOUTH, registration_start_date="2015-01-01"),
            dict(practice_code=NORTH, registration_start_date="2025-03-05"),
        ],
        expected_in_population=True,
        expected_columns=dict(practice_code=SOUTH),
    ),
    # Same start date at two practices: the open-ended one wins over one with a (future) end date.
    "tie_open_ended_wins": dict(
        registrations=[
            dict(practice_code=NORTH, registration_start_date="2018-01-01", registration_end_date="2026-01-01"),
            dict(practice_code=SOUTH, registration_start_date="2018-01-01"),
        ],
        expected_in_population=True,
        expected_columns=dict(practice_code=SOUTH),
    ),
    # Same start, both open: the lower practice code wins, so rebuilds agree.
    "tie_practice_code_breaks": dict(
        registrations=[
            dict(practice_code=SOUTH, registration_start_date="2018-01-01"),
            dict(practice_code=NORTH, registration_start_date="2018-01-01"),
        ],
        expected_in_population=True,
        expected_columns=dict(practice_code=NORTH),
    ),
    # 18th birthday on the reference date: age increments on the day -> 18, band 18-39 (17/18 boundary).
    "eighteen_today": dict(
        registrations=[dict(date_of_birth="2007-02-28")],
        expected_in_population=True,
        expected_columns=dict(age=18, age_band="18-39"),
    ),
    # 18th birthday tomorrow: 17, band 0-17.
    "eighteen_tomorrow": dict(
        registrations=[dict(date_of_birth="2007-03-01")],
        expected_in_population=True,
        expected_columns=dict(age=17, age_band="0-17"),
    ),
    # 80th birthday on the reference date: 80, band 80+ (79/80 boundary).
    "eighty_today": dict(
        registrations=[dict(date_of_birth="1945-02-28")],
        expected_in_population=True,
        expected_columns=dict(age=80, age_band="80+"),
    ),
    # 80th birthday tomorrow: 79, band 60-79.
    "eighty_tomorrow": dict(
        registrations=[dict(date_of_birth="1945-03-01")],
        expected_in_population=True,
        expected_columns=dict(age=79, age_band="60-79"),
    ),
    # Born 29 Feb 2008: on 28 Feb of a non-leap year the 17th birthday is not reached yet -> 16.
    "leap_day_birth": dict(
        registrations=[dict(date_of_birth="2008-02-29")],
        expected_in_population=True,
        expected_columns=dict(age=16, age_band="0-17"),
    ),
    # Born on the reference date: age 0, youngest band.
    "newborn": dict(
        registrations=[dict(date_of_birth="2025-02-28", registration_start_date="2025-02-28")],
        expected_in_population=True,
        expected_columns=dict(age=0, age_band="0-17"),
    ),
    # No ethnic category recorded -> Not recorded (SQL, not the seed).
    "ethnicity_null": dict(
        registrations=[dict(ethnic_category=None)],
        expected_in_population=True,
        expected_columns=dict(ethnicity_group="Not recorded", is_white_non_british=False),
    ),
    # Category Z is a recorded refusal -> Not stated.
    "ethnicity_z": dict(
        registrations=[dict(ethnic_category="Z")],
        expected_in_population=True,
        expected_columns=dict(ethnicity_group="Not stated"),
    ),
    # White Irish: White group, and a White non-British PLUS-group member.
    "ethnicity_b": dict(
        registrations=[dict(ethnic_category="B")],
        expected_in_population=True,
        expected_columns=dict(ethnicity_group="White", is_white_non_british=True),
    ),
    # Chinese (R) is in the Other group in the NHS 2001 categories; Indian (H) in Asian.
    "ethnicity_r": dict(
        registrations=[dict(ethnic_category="R")],
        expected_in_population=True,
        expected_columns=dict(ethnicity_group="Other"),
    ),
    "ethnicity_h": dict(
        registrations=[dict(ethnic_category="H", sex="1")],
        expected_in_population=True,
        expected_columns=dict(ethnicity_group="Asian", sex="Male", sex_code="1"),
    ),
    # IMD decile 1 -> quintile 1; residence in Peterborough (unitary) -> la_code E06000031.
    "imd_decile_1": dict(
        registrations=[dict(lsoa_code=LSOA_DECILE_1)],
        expected_in_population=True,
        expected_columns=dict(imd_decile=1, imd_quintile=1, district_code="E06000031", la_code="E06000031"),
    ),
    # No LSOA: no deprivation or residence geography, still in the population.
    "lsoa_null": dict(
        registrations=[dict(lsoa_code=None, sex="X")],
        expected_in_population=True,
        expected_columns=dict(imd_decile=None, imd_quintile=None, district_code=None, la_code=None, sex="Not known"),
    ),
    # Type 1 opt-out stays in the person mart (direct care) and is carried through.
    "type1_opt_out": dict(
        registrations=[dict(type1_opt_out=True)], expected_in_population=True, expected_columns=dict(type1_opt_out=True)
    ),
}

# Persons present only in raw.person_key (an A&E attender never registered here) must not appear.
NHS_NUMBERS = {pid: f"9{n:09d}" for n, pid in enumerate(PATIENTS, start=1)}
