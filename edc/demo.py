"""Demo content: the four trial sites, one user per role per site, synthetic patients.

Each enrolled demo patient is taken through the trial's eCRFs by the site's demo
investigator, with synthetic but clinically plausible data: screening, enrolment,
apheresis, lymphodepletion, three CAR-T fractions, daily CRS and ICANS assessments,
response and follow-up visits up to month 3 as far as they are due (later visits are left
to the users). Some patients play a scenario (see SCENARIOS): a grade 3 CRS, a grade 2
ICANS in a teenager, an ICANS graded with the CAPD in a young child, a serious febrile
neutropenia, a screen failure, an MRD-positive remission, a CRi. Investigator grades equal
the computed ASTCT grades, and the data raise no automatic queries.

Everything goes through :func:`edc.crf.services.save` (validation, derivation, checks,
item-level audit), exactly as if typed into the forms; a refused save stops the demo with
the reasons. Refuses to run on a database that holds anything that is not demo data.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import access
from .audit.services import Actor
from .auth import services as auth_services
from .auth.models import User
from .clinical.grading import crs_grade, icans_grade
from .clinical.measures import age_years, use_capd
from .crf import services as crf_services
from .errors import ServiceError
from .extensions import db
from .patients import services as patient_services
from .patients.models import Patient
from .sites import services as site_services
from .sites.models import Site

DEMO_PASSWORD = "milenari-demo-2026"  # nosec B105 — printed demo logins, demo data only
SITES = [
    ("ES01", "Hospital Clínic–IDIBAPS, Barcelona", "ES", "Europe/Madrid", "es"),
    ("IT01", "Ospedale Pediatrico Bambino Gesù, Rome", "IT", "Europe/Rome", "it"),
    ("LB01", "American University of Beirut Medical Center", "LB", "Asia/Beirut", "ar"),
    ("JO01", "King Hussein Cancer Center, Amman", "JO", "Asia/Amman", "ar"),
]
PATIENTS_PER_SITE = 3

# (site, patient index) -> scenario; the others follow a typical course.
SCENARIOS = {
    ("ES01", 0): "crs3",          # grade 3 CRS (fever, norepinephrine, high flow), tocilizumab
    ("ES01", 2): "mrd_pos",       # CR with MRD at day 28, consolidative HCT
    ("IT01", 0): "icans2",        # 14-year-old, grade 2 ICANS (ICE 5, awakens to voice)
    ("IT01", 1): "fn",            # serious grade 3 febrile neutropenia
    ("LB01", 0): "icans_capd",    # 6-year-old, grade 1 ICANS graded with the CAPD
    ("LB01", 2): "screen_fail",   # active GVHD: stays in screening
    ("JO01", 1): "cri",           # CR with incomplete count recovery at day 28
}
SCENARIO_AGE = {"crs3": 9, "icans2": 14, "icans_capd": 6, "screen_fail": 12}
CONSENT_LANGUAGES = {"ES01": ["es", "es", "ca"], "IT01": ["it"], "LB01": ["ar", "ar", "en", "fr"],
                     "JO01": ["ar", "ar", "en"]}
# Approximate median height (cm) and weight (kg) by age, both sexes.
GROWTH = {3: (96, 14.3), 4: (103, 16.3), 5: (110, 18.4), 6: (116, 20.7), 7: (122, 23.1),
          8: (128, 25.8), 9: (133, 28.6), 10: (138, 32.0), 11: (144, 36.0), 12: (150, 40.5),
          13: (157, 45.5), 14: (163, 51.0), 15: (167, 56.0), 16: (170, 60.0), 17: (172, 63.0)}
BRIDGING = ["Vincristine, dexamethasone and intrathecal methotrexate",
            "Low-dose cytarabine and intrathecal triple therapy",
            "Inotuzumab ozogamicin",
            "Mercaptopurine and oral methotrexate"]
# Follow-up visits filled when due: (visit, target study day, forms); later visits are left
# for the users (they show as due or overdue).
FOLLOW_UP = [("D7", 7, ("FU",)), ("D14", 14, ("FU",)), ("D21", 21, ("FU",)),
             ("D28", 28, ("RS", "FU")), ("M2", 60, ("RS", "FU")), ("M3", 90, ("RS", "FU"))]
HGB = {"D7": (80, 95), "D14": (85, 102), "D21": (90, 108), "D28": (95, 115), "M2": (100, 122),
       "M3": (105, 128)}   # g/L, recovering after lymphodepletion
VISIT_JITTER = {"D7": (0, 0), "D14": (-1, 1), "D21": (-1, 1), "D28": (-1, 2), "M2": (-3, 4),
                "M3": (-5, 7)}


def demo_email(role: str, site_code: str) -> str:
    return f"{role.replace('_', '-')}.{site_code.lower()}@demo.milenari.org"


def has_real_data() -> bool:
    for model in (Site, User, Patient):
        if db.session.scalars(select(model).where(model.demo.is_(False)).limit(1)).first():
            return True
    return False


def load_demo(seed: int = 2026) -> list[tuple[str, str, str]]:
    if has_real_data():
        raise ServiceError(_l("This database holds real (non-demo) data: the demo refuses "
                              "to load into it."))
    if db.session.scalars(select(Site).where(Site.demo.is_(True)).limit(1)).first():
        return [(demo_email(role, code), DEMO_PASSWORD, f"{role} at {code}")
                for code, *_rest in SITES for role in access.ROLES]
    rng = random.Random(seed)  # nosec B311 — synthetic demo data, not security
    actor = Actor(None, "demo loader", "cli")
    logins = []
    for code, name, country, tz, locale in SITES:
        site_services.add_site(code, name, country, tz, actor, demo=True)
        for role in access.ROLES:
            email = demo_email(role, code)
            auth_services.create_user(
                email, f"Demo {role.replace('_', ' ').title()} {code}",
                DEMO_PASSWORD, actor, locale=None, demo=True)
            auth_services.grant(email, code, role, actor)
            logins.append((email, DEMO_PASSWORD, f"{role} at {code}"))
    for code, *_ in SITES:
        site = site_services.get_by_code(code)
        inv = auth_services.get_user_by_email(demo_email("investigator", code))
        inv_actor = Actor.of(inv, "demo")
        for i in range(PATIENTS_PER_SITE):
            scenario = SCENARIOS.get((code, i), "typical")
            age = SCENARIO_AGE.get(scenario) or rng.randint(3, 17)
            registered = date.today() - timedelta(days=rng.randint(60, 400))
            birth_year, birth_month = _birth(registered, age, rng)
            sex = rng.choice("FM")
            patient = patient_services.register(
                site, inv_actor, birth_year=birth_year, sex=sex, registered_on=registered,
                demo=True,
                identifiers={"full_name": f"Demo Patient {code}-{i + 1}",
                             "mrn": f"{code}-MRN-{rng.randint(100000, 999999)}"})
            Course(inv_actor, patient, rng, scenario, age, birth_year, birth_month,
                   sex).run()
    return logins


def _birth(consent: date, age: int, rng: random.Random) -> tuple[int, int]:
    """A (year, month) of birth giving exactly ``age`` completed years on ``consent``."""
    months = consent.year * 12 + consent.month - 1 - (age * 12 + rng.randint(1, 11))
    return months // 12, months % 12 + 1


# ------------------------------------------------------------------- value formatting
def _b(v: bool) -> str:
    return "true" if v else "false"


def _d(v: date) -> str:
    return v.isoformat()


def _dt(v: datetime) -> str:
    return v.strftime("%Y-%m-%dT%H:%M")


def _f(v: float, n: int) -> str:
    return f"{v:.{n}f}"


def _msg(m) -> str:
    try:
        return m.msgid % m.params if m.params else m.msgid
    except (KeyError, TypeError, ValueError):
        return m.msgid


class NotYet(Exception):
    """The next step of the course is not due yet (on or after today at the site)."""


@dataclass
class Course:
    """One patient's course through the eCRFs, entered by the site's demo investigator."""
    actor: Actor
    patient: Patient
    rng: random.Random
    scenario: str
    age: int
    birth_year: int
    birth_month: int
    sex: str

    def __post_init__(self):
        self.site_code = self.patient.site.code
        self.zone = ZoneInfo(self.patient.site.timezone)
        self.today = datetime.now(self.zone).date()

    # ---------------------------------------------------------------- plumbing
    def due(self, day: date) -> date:
        if day >= self.today:
            raise NotYet
        return day

    def save(self, visit: str, oid: str, raw: dict) -> dict:
        """Save one complete record as the investigator would; the saved values."""
        outcome = crf_services.save(self.actor, self.patient, visit, oid, record_id=None,
                                    row_version=None, raw=raw, raw_missing={},
                                    complete=True, reason=None)
        if not outcome.saved:
            res = outcome.result
            errors = {item: [_msg(m) for m in msgs] for item, msgs in res.errors.items()}
            form_errors = [_msg(m) for m in res.form_errors]
            refusals = [(f.item, _msg(f.msg)) for f in res.refusals]
            extra = (" The record was changed by someone else (stale)." if outcome.stale
                     else "") + (" A reason for change is needed." if outcome.reason_needed
                                 else "")
            raise RuntimeError(
                f"Demo data for {self.patient.pseudonym}, visit {visit}, form {oid} was not "
                f"saved: errors={errors} form_errors={form_errors} refusals={refusals}."
                + extra)
        return outcome.record.values

    def age_on(self, day: date) -> int:
        return age_years(birth_year=self.birth_year, birth_month=self.birth_month, on_date=day)

    # ---------------------------------------------------------------- the course
    def run(self) -> None:
        try:
            self.screening()
            if self.scenario == "screen_fail":
                return
            patient_services.enrol(self.actor, self.patient,
                                   crf_services.patient_records(self.patient), self.elig_date)
            self.apheresis()
            self.lymphodepletion()
            self.infusion()
            self.acute_phase()
            self.adverse_events()
            self.follow_up()
        except NotYet:
            pass

    def screening(self) -> None:
        r = self.rng
        consent = self.due(self.patient.registered_on)
        self.elig_date = self.due(consent + timedelta(days=r.randint(1, 4)))
        version_date = self.today - timedelta(days=430)
        assent = self.age >= 7
        ic = {"RFICDAT": _d(consent), "ICVER": f"2.1 of {_d(version_date)}",
              "ICLANG": r.choice(CONSENT_LANGUAGES[self.site_code]),
              "ICSIGNER": r.choice(["mother", "father", "both_parents", "both_parents"]),
              "ICWITN": "false", "ASNTAPPL": _b(assent)}
        if assent:
            ic |= {"ASNTYN": "true", "ASNTDAT": _d(consent),
                   "ASNTVER": f"2.1 ({'7–11' if self.age < 12 else '12–17'} years)"}
        self.save("SCR", "IC", ic)

        height, weight = GROWTH[self.age]
        self.height = round(height * r.uniform(0.95, 1.04), 1)
        self.weight = round(weight * r.uniform(0.85, 1.12), 1)
        dm = self.save("SCR", "DM", {
            "BRTHYR": str(self.birth_year), "BRTHMO": str(self.birth_month),
            "SEX": self.sex, "WEIGHT": _f(self.weight, 1), "HEIGHT": _f(self.height, 1)})
        if dm.get("AGE") != self.age:
            raise RuntimeError(f"demo: {self.patient.pseudonym} DM.AGE {dm.get('AGE')} "
                               f"!= {self.age}")
        self.bsa = dm["BSA"]

        fail = self.scenario == "screen_fail"
        elig = {"IEDAT": _d(self.elig_date),
                "PSSCALE": "lansky" if self.age < 16 else "karnofsky",
                "PSSCORE": str(r.choice([70, 80, 80, 90, 90, 100])),
                "IEYN": _b(not fail)}
        for item in ("INCD19", "INAGE", "INPERF", "INRENAL", "INHEPAT", "INCARD", "INPULM",
                     "INLIFEX", "INCONS"):
            elig[item] = "true"
        for item in ("EXCNS3", "EXINFECT", "EXGVHD", "EXHCT", "EXPRCART", "EXPREG",
                     "EXVIRAL", "EXBURK", "EXCNSDIS"):
            elig[item] = "false"
        if fail:
            elig["EXGVHD"] = "true"   # chronic GVHD on ciclosporin after a recent HCT
        self.save("SCR", "ELIG", elig)
        self.save("SCR", "MH", self.history(consent))

    def history(self, consent: date) -> dict:
        r = self.rng
        max_back = min(self.age * 365 - 400, 6 * 365)
        diag = consent - timedelta(days=r.randint(min(300, max_back), max_back))
        since_dx = (consent - diag).days
        if self.scenario == "screen_fail":
            status = "relapse_post_hct"
        elif since_dx < 540:
            status = r.choice(["primary_refractory", "refractory_relapse", "relapse_1"])
        else:
            status = r.choice(["relapse_1", "relapse_2plus", "relapse_2plus",
                               "relapse_post_hct", "refractory_relapse"])
        relapses = {"primary_refractory": 0, "relapse_1": 1, "refractory_relapse": 1,
                    "relapse_2plus": r.choice([2, 2, 3]),
                    "relapse_post_hct": r.choice([1, 2])}[status]
        blasts = r.choice([r.uniform(5, 30), r.uniform(20, 85), r.uniform(0.5, 4.5)])
        mrd = min(blasts * r.uniform(0.85, 1.1), 99.0) if blasts >= 5 else r.uniform(0.2, 4)
        mh = {"MHDIAGDT": _d(diag),
              "MHCYTO": r.choice([["none"], ["none"], ["none"], ["kmt2a_r"], ["iamp21"],
                                  ["hypodiploidy"], ["bcr_abl1"]]),
              "MHCNSDX": r.choice(["CNS1", "CNS1", "CNS1", "CNS2"]),
              "MHDISST": status, "MHNRELAP": str(relapses),
              "MHCNSSCR": "CNS1", "MHEMSITE": ["none"],
              "MHBMBLST": _f(blasts, 1), "MHCD19": _f(r.uniform(88, 99.9), 1),
              "MHMRD": _f(mrd, 4), "MHMRDLOD": "0.01", "MHMRDMTH": "flow",
              "MHHCT": _b(status == "relapse_post_hct"),
              "MHBLINA": _b(r.random() < 0.4), "MHINO": _b(r.random() < 0.2)}
        if status == "relapse_post_hct":
            if self.scenario == "screen_fail":
                hct = consent - timedelta(days=150)
            else:
                hct = diag + timedelta(days=r.randint(180, max(180, since_dx - 240)))
            mh |= {"MHHCTDAT": _d(hct), "MHHCTDON": r.choice(["msd", "mud", "haplo"])}
        return mh

    def apheresis(self) -> None:
        r = self.rng
        self.aph_date = self.due(self.elig_date + timedelta(days=r.randint(2, 6)))
        self.release = self.due(self.aph_date + timedelta(days=r.randint(18, 24)))
        alc = r.uniform(0.4, 2.5)
        self.product_id = (f"MLN-{self.site_code}-{self.aph_date:%y%m%d}-"
                           f"{r.randint(100, 999)}{r.choice('ACEHKMPRTX')}")
        self.save("APH", "APH", {
            "APHDAT": _d(self.aph_date), "APHALC": _f(alc, 2),
            "APHCD3": str(round(alc * 1000 * r.uniform(0.55, 0.8))),
            "APHPRODID": self.product_id, "MFGOUT": "released",
            "MFGRELDT": _d(self.release)})

    def lymphodepletion(self) -> None:
        r = self.rng
        self.d0 = self.release + timedelta(days=r.randint(6, 9))
        ld_start = self.due(self.d0 - timedelta(days=6))
        bridging = r.random() < 0.75
        ld = {"BRIDGYN": _b(bridging), "LDSTDAT": _d(ld_start),
              "LDEGFR": str(r.randint(95, 170)), "LDBSA": self.bsa,
              "LDFLUDOS": "30", "LDFLUSDY": "-6", "LDFLUEDY": "-3", "LDFLUNDY": "4",
              "LDFLUD1": "30", "LDFLUD2": "30", "LDFLUD3": "30", "LDFLUD4": "30",
              "LDCYDOS": "500", "LDCYSDY": "-6", "LDCYEDY": "-5", "LDCYNDY": "2",
              "LDCYD1": "500", "LDCYD2": "500", "LDMOD": "false"}
        if bridging:
            ld["BRIDGAG"] = r.choice(BRIDGING)
        self.save("LD", "LD", ld)

    def infusion(self) -> None:
        r = self.rng
        viability = _f(r.uniform(82, 97), 1)
        start = datetime.combine(self.d0, time(9, r.choice([0, 15, 30, 45])))
        for n, pct in enumerate(("10", "30", "60"), start=1):
            self.due(start.date())
            end = start + timedelta(minutes=r.randint(12, 25))
            dose = _f(int(pct) / 100, 3)
            self.save("D0", "EX", {
                "EXFRNUM": str(n), "EXPLPCT": pct, "EXPLDOSE": dose, "EXSTAT": "given",
                "EXBAGID": self.product_id, "EXVIAB": viability,
                "EXWT": _f(self.weight, 1), "EXDOSE": dose,
                "EXSTDAT": _d(start.date()), "EXSTDTC": _dt(start), "EXENDTC": _dt(end),
                "EXPMPARA": "true", "EXPMAH": "true", "EXPMSTER": "false",
                "EXIRYN": "false"})
            # the next fraction the next day, at least 24 hours after the end of this one
            start = end + timedelta(hours=24, minutes=r.randint(15, 60))

    # ---------------------------------------------------------------- CRS and ICANS
    def fever(self, lo: float, hi: float) -> float:
        return round(self.rng.uniform(lo, hi), 1)

    def crs_plan(self) -> dict[int, dict]:
        """Study day -> the signs of that day's CRS assessment (absent: no CRS)."""
        r = self.rng
        toci = "12" if self.weight < 30 else "8"
        fever = self.fever
        if self.scenario == "crs3":
            return {
                2: dict(t=fever(38.4, 38.9)),
                3: dict(t=fever(39.2, 39.8), hypo=True, toci=toci),
                4: dict(t=fever(38.3, 38.8), masked=True, hypo=True, vaso=["norepinephrine"],
                        o2="high_flow_nasal_cannula", flow=round(self.weight * 1.0),
                        fio2=40, spo2=93, icu=True, toci=toci,
                        cs=("dexamethasone", "0.60")),
                5: dict(t=37.6, masked=True, o2="nasal_cannula", flow=1.0, fio2=28, spo2=95,
                        icu=True, cs=("dexamethasone", "0.60")),
                6: dict(t=37.1, masked=True, icu=False, cs=("dexamethasone", "0.30")),
            }
        peak = {"icans2": 2, "icans_capd": 1, "fn": 1}.get(self.scenario) \
            or r.choice([0, 1, 1, 1, 2, 2])
        onset = r.choice([3, 4]) if peak == 2 else r.choice([3, 4, 5])
        if peak == 0:
            return {}
        if peak == 1:
            return {onset + k: dict(t=fever(38.1, 39.4)) for k in range(r.choice([1, 2]))}
        sign = r.choice(["hypo", "o2"])
        second = dict(t=fever(38.8, 39.7), toci=toci)
        if sign == "hypo":
            second["hypo"] = True
        else:
            second |= dict(o2="nasal_cannula", flow=r.choice([0.5, 1.0, 1.5]),
                           fio2=r.choice([26, 28, 30]), spo2=r.randint(93, 95))
        return {onset: dict(t=fever(38.2, 38.9)), onset + 1: second,
                onset + 2: dict(t=round(r.uniform(36.8, 37.6), 1), masked=True)}

    def crs_raw(self, day: date, spec: dict | None) -> tuple[dict, int]:
        r = self.rng
        s = spec or {}
        t = s.get("t", round(r.uniform(36.4, 37.6), 1))
        o2 = s.get("o2", "none")
        grade = crs_grade(temperature_c=str(t), masked=s.get("masked", False),
                          hypotension=s.get("hypo", False), vasopressors=s.get("vaso", ()),
                          oxygen=o2, oxygen_flow_lpm=s.get("flow"))
        # CRP and ferritin rise with active CRS and fall afterwards (CRP half-life ~ 1 day)
        active = t >= 38 or s.get("hypo") or o2 != "none"
        if grade and active:
            lo, hi = {1: (50, 110), 2: (110, 200)}.get(grade, (200, 320))
            self.crp = max(r.uniform(lo, hi), self.crp * 0.7)
            self.ferritin = min(self.ferritin * r.uniform(1.4, 2.2), 20000)
        else:
            self.crp = max(self.crp * r.uniform(0.45, 0.65), r.uniform(2, 10))
            self.ferritin = max(self.ferritin * r.uniform(0.7, 0.85), r.uniform(300, 900))
        raw = {"CRSDAT": _d(day), "CRSTMAX": _f(t, 1), "CRSFEVOC": "false",
               "CRSMASK": _b(s.get("masked", False)), "CRSHYPO": _b(s.get("hypo", False)),
               "CRSVASO": s.get("vaso", []), "CRSO2DEV": o2,
               "CRSSPO2": str(s.get("spo2", r.randint(96, 99))),
               "CRSDTH": "false", "CRSICU": _b(s.get("icu", False)),
               "CRSGRINV": str(grade), "CRSTOCI": _b("toci" in s),
               "CRSCS": _b("cs" in s), "CRSACYT": "false",
               "CRSCRP": _f(self.crp, 1), "CRSFERR": str(round(self.ferritin))}
        if o2 != "none":
            raw |= {"CRSO2FLW": _f(s["flow"], 1), "CRSFIO2": str(s["fio2"])}
        if "toci" in s:
            raw |= {"CRSTOCDS": s["toci"], "CRSTOCN": "1"}
        if "cs" in s:
            raw |= {"CRSCSAG": s["cs"][0], "CRSCSDS": s["cs"][1]}
        return raw, grade

    def icans_plan(self) -> dict[int, dict]:
        """Study day -> that day's ICANS findings (absent: none)."""
        if self.scenario == "icans2":   # ICE score items as in the ASTCT paper
            aed = dict(aed="Levetiracetam prophylaxis")
            return {
                5: dict(ice=[1, 1, 1, 1, 3, 1, 0, 0], **aed),                       # ICE 8
                6: dict(ice=[1, 0, 1, 0, 2, 1, 0, 0], loc="voice", eeg="slowing",    # ICE 5
                        img="none", cs=("dexamethasone", "0.80"), **aed),
                7: dict(ice=[1, 1, 1, 1, 3, 1, 0, 1], cs=("dexamethasone", "0.40"), **aed),
                8: dict(cs=("dexamethasone", "0.20"), **aed),
            }
        if self.scenario == "icans_capd":
            return {5: dict(capd=[1, 1, 0, 1, 1, 0, 1, 0]),      # CAPD 5
                    6: dict(capd=[1, 1, 1, 1, 1, 1, 1, 0]),      # CAPD 7
                    7: dict(capd=[0, 1, 0, 1, 0, 0, 1, 0]),      # CAPD 3
                    8: {}}
        return {}

    def icans_raw(self, day: date, spec: dict | None) -> tuple[dict, int]:
        s = spec or {}
        age = self.age_on(day)
        capd = use_capd(age_years=age)
        raw = {"ICANDAT": _d(day), "ICANDD": "false", "ICANSED": "false",
               "ICANLOC": s.get("loc", "spontaneous"), "ICANSZ": "none",
               "ICANEEG": _b("eeg" in s), "ICANMOT": "false", "ICANIMG": _b("img" in s),
               "ICANICP": "false", "ICANDTH": "false", "ICANCS": _b("cs" in s),
               "ICANANK": "false", "ICANAED": _b("aed" in s)}
        if capd:
            scores = s.get("capd", [0] * 8)
            raw |= {f"CAPD{i}": str(v) for i, v in enumerate(scores, start=1)}
        else:
            scores = s.get("ice", [1, 1, 1, 1, 3, 1, 1, 1])
            raw |= dict(zip(("ICEYEAR", "ICEMONTH", "ICECITY", "ICEHOSP", "ICENAME",
                             "ICECMD", "ICEWRITE", "ICECOUNT"), map(str, scores)))
        if "eeg" in s:
            raw["ICANEEGR"] = s["eeg"]
        if "img" in s:
            raw |= {"ICANOED": s["img"], "ICANICH": "false"}
        if "cs" in s:
            raw |= {"ICANCSAG": s["cs"][0], "ICANCSDS": s["cs"][1]}
        if "aed" in s:
            raw["ICANAEDS"] = s["aed"]
        grade = icans_grade(age_years=age, ice_score=None if capd else sum(scores),
                            capd_score=sum(scores) if capd else None,
                            consciousness=raw["ICANLOC"], cerebral_edema=s.get("img"))
        raw["ICANGINV"] = str(grade)
        return raw, grade

    def acute_phase(self) -> None:
        crs, icans = self.crs_plan(), self.icans_plan()
        self.crs_grades, self.icans_grades = {}, {}
        self.crp, self.ferritin = self.rng.uniform(2, 10), self.rng.uniform(300, 1200)
        for k in range(max(8, max(icans, default=0) + 1)):
            day = self.due(self.d0 + timedelta(days=k))
            if k <= 7:
                raw, grade = self.crs_raw(day, crs.get(k))
                self.check_grade("CRS", self.save("ACUTE", "CRS", raw), "CRSGRADE", grade)
                self.crs_grades[k] = grade
            raw, grade = self.icans_raw(day, icans.get(k))
            self.check_grade("ICANS", self.save("ACUTE", "ICANS", raw), "ICANSGRADE", grade)
            self.icans_grades[k] = grade

    def check_grade(self, oid: str, values: dict, item: str, expected: int) -> None:
        if values.get(item) != expected:
            raise RuntimeError(f"demo: {self.patient.pseudonym} {oid} {item} "
                               f"{values.get(item)} != {expected}")

    # ---------------------------------------------------------------- adverse events
    def episode(self, grades: dict[int, int]) -> tuple[int, int, int] | None:
        """(onset day, first day without it, highest grade), or None."""
        days = sorted(k for k, g in grades.items() if g >= 1)
        if not days:
            return None
        return days[0], days[-1] + 1, max(grades.values())

    def ae(self, term: str, kind: str, onset: int, end: int, grade: int, *, serious=(),
           aesi: str | None = None, rel_car="definite", rel_ld="not_related",
           treated=True) -> None:
        start = self.d0 + timedelta(days=onset)
        stop = self.due(self.d0 + timedelta(days=end))
        raw = {"AETERM": term, "AECRSIC": kind, "AESTDAT": _d(start), "AEONGO": "false",
               "AEENDAT": _d(stop), "AETOXGR": str(grade), "AESER": _b(bool(serious)),
               "AESI": _b(aesi is not None), "AERELCAR": rel_car, "AERELLD": rel_ld,
               "AERELAPH": "not_related", "AEEXPECT": "true", "AEACN": "na",
               "AECONTRT": _b(treated), "AEOUT": "recovered"}
        if serious:
            raw["AESCRIT"] = list(serious)
        if aesi:
            raw["AESICAT"] = aesi
        if serious or aesi:
            raw["AEAWDAT"] = _d(start)
        self.save("LOG", "AE", raw)

    def adverse_events(self) -> None:
        crs = self.episode(self.crs_grades)
        if crs:
            onset, end, grade = crs
            self.ae("Cytokine release syndrome", "crs", onset, end, grade, aesi="crs",
                    serious=("hospitalisation", "important_medical_event") if grade >= 3
                    else ())
        icans = self.episode(self.icans_grades)
        if icans:
            onset, end, grade = icans
            self.ae("Immune effector cell-associated neurotoxicity syndrome", "icans",
                    onset, end, grade, aesi="icans", treated=grade >= 2)
        if self.scenario == "fn":
            self.ae("Febrile neutropenia", "no", 9, 12, 3, serious=("hospitalisation",),
                    rel_car="possible", rel_ld="probable")

    # ---------------------------------------------------------------- follow-up
    def follow_up(self) -> None:
        r = self.rng
        igg = r.uniform(5.0, 7.5)   # at lymphodepletion
        hct_day = 70 if self.scenario == "mrd_pos" else None
        reported_hct = False
        for visit, target, forms in FOLLOW_UP:
            lo, hi = VISIT_JITTER[visit]
            k = target + r.randint(lo, hi)
            day = self.due(self.d0 + timedelta(days=k))
            anc, plat = self.counts(visit)
            # B-cell aplasia: IgG falls; below 4.5 g/L IVIG is given after the visit, so the
            # next visit reports IVIG since the last visit and a replenished level
            ivig = igg < 4.5
            igg = r.uniform(5.5, 7.5) if ivig else max(4.0, igg * r.uniform(0.8, 0.95))
            copies = self.PERSISTENCE[visit] * r.uniform(0.6, 1.6)
            if "RS" in forms:
                self.save(visit, "RS", self.response(visit, day, anc, plat,
                                                     after_hct=hct_day is not None
                                                     and k > hct_day))
            fu = {"FUDAT": _d(day), "FUSURV": "alive",
                  "FUWT": _f(self.weight * r.uniform(0.93, 1.02), 1),
                  "FUHT": _f(self.height + k / 365 * 6, 1),
                  "FUANC": _f(anc, 2), "FUPLAT": str(plat), "FUHGB": str(r.randint(*HGB[visit])),
                  "FUCD19": _f(r.uniform(0, 4), 1), "FUIGG": _f(igg, 1),
                  "FUIVIG": _b(ivig),
                  "FUQPCR": str(round(copies)),
                  "FUCARFL": _f(min(40.0, copies / 8000), 2),
                  "FUINF3": "false", "FUSTHER": "false"}
            if hct_day is not None and k > hct_day and not reported_hct:
                hct = self.d0 + timedelta(days=hct_day)
                fu |= {"FUSTHER": "true", "FUSTTYPE": ["hct"], "FUHCTDAT": _d(hct),
                       "FUHCTDON": "mud",
                       "FUSTSP": "Consolidative allogeneic HCT for persisting MRD"}
                reported_hct = True
            self.save(visit, "FU", fu)

    def counts(self, visit: str) -> tuple[float, int]:
        r = self.rng
        if self.scenario == "cri" and visit == "D28":
            return r.uniform(0.5, 0.9), r.randint(35, 80)
        anc = {"D7": (0.2, 0.9), "D14": (0.4, 1.5), "D21": (0.8, 2.0)}.get(visit, (1.2, 3.5))
        plat = {"D7": (18, 60), "D14": (30, 90), "D21": (60, 150)}.get(visit, (110, 280))
        return r.uniform(*anc), r.randint(*plat)

    #: typical CAR transgene copies/µg DNA in blood by visit (expansion peaks by day 14)
    PERSISTENCE = {"D7": 60000, "D14": 150000, "D21": 50000, "D28": 20000, "M2": 6000,
                   "M3": 2500}

    def response(self, visit: str, day: date, anc: float, plat: int, *,
                 after_hct: bool) -> dict:
        r = self.rng
        mrd_pos = self.scenario == "mrd_pos" and visit in ("D28", "M2") and not after_hct
        rs = {"RSDAT": _d(day), "RSBMBLST": _f(r.uniform(0.5, 3.5), 1),
              "RSMRD": _f(r.choice([0.04, 0.06]) if mrd_pos else 0, 4),
              "RSMRDLOD": "0.01", "RSMRDMTH": "flow",
              "RSANC": _f(anc, 2), "RSPLAT": str(plat), "RSCSF": "CNS1",
              "RSEMSTAT": "none",
              "RSRESP": "CRi" if anc < 1 or plat < 100 else "CR"}
        if mrd_pos:
            rs["RSCD19"] = _f(r.uniform(92, 99.5), 1)
        return rs
