"""Citation numbers in the model files point at the right entries of the two seed reviews' reference lists.

``[n]`` is reference n of seed 000 (Lin et al.), ``003 [n]`` reference n of seed 003 (Wilczynski et al. 2024); the
lists are copied in tests/data/seeds (see its README). For every citation in models/ (*.tsv, *.toml, *.ant, *.bnet),
in the comments of experiments/*.toml and in the prose of README.md and of sim/ and tests/ (comments, docstrings):

(a) n exists in that seed's list;
(b) where the row (TSV) or line (other files; a wrapped comment line with the line before it) names a cargo
    (miRNA, lncRNA, circRNA, protein), a gene, a drug or an intervention, the cited entry mentions at least one of
    them (names normalised: miR-106b = miRNA-106b = microRNA-106b = mir_106b; GEM = gemcitabine, ...). In
    models/tables/cargo.tsv only the cargo, target and drug columns count. An intervention also counts as named by
    its mechanism's subject (imipramine: "EV inhibitor"), so a review of that mechanism supports it;
(c) where an author and year stand next to the citation ("[48] (Richards 2022)", "Richards 2017 [50]"), the entry's
    first author and year are those.

Cancer types are deliberately not accepted as a match: one review cites many studies of the same cancer (about ten
PDAC papers in seed 000), so a cancer name cannot tell a right number from a wrong one. Entries whose printed title
names none of the things a row names, but whose citation point in the review's body supports the row, are listed in
BODY_SUPPORT with what the body says there.

Standard library and pytest only; the tests read nothing outside the repository.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "tests" / "data" / "seeds"


# ---------------------------------------------------------------------------------------------------------------------
# reference lists


def load_references(seed: str) -> dict[int, str]:
    with open(SEEDS / f"{seed}_references.tsv", encoding="utf-8", newline="") as f:
        rows = csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t",
                              quoting=csv.QUOTE_NONE)
        return {int(row["number"]): row["text"] for row in rows}


REFERENCES = {"000": load_references("000"), "003": load_references("003")}


# Entries whose printed text names none of the things the citing rows name, although the review's body at that
# citation supports them. Key: (seed, n); value: (names the body supports there, what the body says).
BODY_SUPPORT: dict[tuple[str, int], tuple[tuple[str, ...], str]] = {
    ("000", 33): (("cisplatin",), "Table 1: 'miR-20a | NSCLC | PTEN and PI3K/AKT | DDP | [33]'."),
    ("000", 38): (("paclitaxel",), "Table 1: 'miR-296-3p | OC | PTEN/AKT and SOCS6/STAT3 | PTX | [38]'."),
    ("000", 43): (("miR-3173-5p",),
                  "'CAF-derived exosomal miR-3173-5p facilitated GEM resistance and suppressed ferroptosis by "
                  "directly targeting ACSL4 [43]' (the title says 'ACSL4-targeting miRNAs')."),
    ("000", 48): (("miR-21", "miR-181a", "miR-221", "miR-222", "miR-92a"),
                  "'five miRNAs (miR-21, miR-181a, miR-221, miR-222, and miR-92a) was detected in GEM-treated "
                  "CAF-derived exosomes ... directly targeting PTEN [48]' (the title says 'PTEN-Targeting miRNAs')."),
    ("000", 42): (("cisplatin", "paclitaxel"),
                  "'DDP and paclitaxel treatment can induce CAFs to secrete exosomal miR-552 [sic] by activating the "
                  "USP7/hnRNPA1 axis ... [42]'; Table 1: 'miR-522 | GC | ALOX15 | DDP and PTX | [42]'."),
    ("000", 50): (("miR-146a", "SNAI1", "gemcitabine", "GW4869"),
                  "'GEM treatment can induce CAFs to secrete more miR-146a and ... Snail, subsequently inducing EMT "
                  "and chemoresistance to GEM in vitro [50]'. GW4869 is not in the review's body: Richards et al. 2017 "
                  "(the cited paper itself) blocked exosome release from the GEM-treated CAFs with GW4869, which is "
                  "what the GW4869 rows cite it for."),
    ("000", 52): (("miR-92a-3p", "fluorouracil", "oxaliplatin"),
                  "Table 1: 'miR-92a-3p | CRC | Wnt/beta-catenin | 5-FU/ OXA | [52]'."),
    ("000", 57): (("miR-4717-5p", "SLC29A2", "RAB27B"),
                  "'inhibition of exosome secretion by RAB27B suppression inhibits the survival of lymphoma cells. "
                  "Besides, CAF-derived exosomal miR-4717-5p can induce anti-pyrimidine drug resistance by directly "
                  "targeting ENT2 in lymphoma [57]'."),
    ("000", 59): (("ARID1A", "PRKAA2", "SOCS1", "STAT3"),
                  "'the downregulation of ARID1A can suppress the expression of SOCS1 and activate the STAT3 "
                  "signaling pathway, and downregulated PRKAA2 can activate the mTOR signaling [59]'; Table 1: "
                  "'miR-146a-5p | UBC | ARID1A and PRKAA2 | GEM and DDP | [59]'."),
    ("000", 64): (("miR-103a", "WEE1", "cisplatin"),
                  "'exosomal lncRNA UCAI from CAFs can induce DDP resistance via the miR-103a-WWE1 axis [64]' (WWE1, "
                  "no HGNC symbol, read as WEE1 in cargo.tsv)."),
    ("000", 68): (("miR-181a-5p", "SIRT1"),
                  "'CAF-derived exosomal DACT3-AS1 elevated the oxidative stress level through "
                  "miR-181a-5p/SIRT1-mediated ferroptosis, enhance the sensitivity to OXA of GC cells [68]'."),
    ("000", 87): (("antagomir",),
                  "'the pharmacological inhibition of CD63+CAF with a CD63-neutralizing antibody or "
                  "cRGD-miR-22-sponge nanoparticles can effectively reverse tamoxifen resistance [87]': sequestering "
                  "the cargo miRNA, which the antagomir row models."),
    ("000", 130): (("manumycin A", "tipifarnib"),
                   "'Several agents, such as tipifarnib and manumycin A have been reported to selectively inhibit "
                   "tumour cell-released exosomes but exert no effects on normal cells [130]'."),
    ("003", 39): (("LY294002", "AKT1", "ABCB1"),
                  "'Inhibition of AKT kinase with LY294002 effectively inhibited the upregulation of ABCB1 resulting "
                  "from Zn2+ stimulation [39]' (ZIP1+ CAFs pass Zn2+ to lung cancer cells)."),
    ("003", 59): (("RAB27A",),
                  "'silencing Rab-27 A in chemoresistant ovarian cancer cells restored normal lysosomal function, led "
                  "to an increase in their sensitivity to treatment, and reduced the number of secreted EVs [59]'."),
    ("003", 65): (("ABCB1", "doxorubicin"),
                  "'EXOs isolated from multidrug-resistant MG-63DXR30 osteosarcoma cells ... induce a Dox-resistant "
                  "phenotype in these cells by delivering MDR-1 and P-gp mRNAs [65]'."),
    ("003", 80): (("GW4869",),
                  "'Coincubation with EXOs containing DNMT1 ... resulted in host cell resistance to cisplatin "
                  "cytotoxicity. Reversal of this effect was possible by using the EXO inhibitor GW4869 [80]'."),
}


# ---------------------------------------------------------------------------------------------------------------------
# normalising and naming things


def normalise(text: str) -> str:
    """Plain ASCII-ish text: Greek letters spelt out, dashes as '-', no markdown/TeX emphasis, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\$\\?([A-Za-z]+)\$", r"\1", text)  # $\beta$ -> beta
    for greek, latin in (("α", "alpha"), ("β", "beta"), ("γ", "gamma"), ("κ", "kappa"), ("²⁺", "2+")):
        text = text.replace(greek, latin)
    text = re.sub(r"[‐-―−]", "-", text)
    text = text.replace("*", "").replace("\\", "")
    text = re.sub(r"(?<=\w)-\s+", "-", text)  # 'TGF- beta' -> 'TGF-beta'
    return re.sub(r"\s+", " ", text)


# miR-106b, miRNA-106b, microRNA-106b, mir_106b, miR21, miR-21-5p; '/' continues a list: miR-221/222, miR-21/-181a
MIRNA = re.compile(r"(?<![A-Za-z0-9])(?:hsa-)?(?:micro-?rna|mirna|mir)[-_]?(\d+)([a-z]?)(?:[-_]([35]p))?"
                   r"((?:/-?\d+[a-z]?(?:-[35]p)?)*)", re.IGNORECASE)
MIRNA_MORE = re.compile(r"/-?(\d+)([a-z]?)(?:-([35]p))?", re.IGNORECASE)


def mirnas(text: str) -> set[tuple[str, str, str]]:
    """(number, letter, arm) of every miRNA named in text; '' where not given."""
    found = set()
    for m in MIRNA.finditer(text):
        found.add((m.group(1), m.group(2).lower(), (m.group(3) or "").lower()))
        for more in MIRNA_MORE.finditer(m.group(4)):
            found.add((more.group(1), more.group(2).lower(), (more.group(3) or "").lower()))
    return found


def same_mirna(a: tuple[str, str, str], b: tuple[str, str, str]) -> bool:
    """miR-146a = miR-146a-5p, miR-92 = miR-92a; miR-21 != miR-210, miR-34b != miR-34c, -3p != -5p."""
    return a[0] == b[0] and (a[1] == b[1] or not a[1] or not b[1]) and (a[2] == b[2] or not a[2] or not b[2])


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t",
                                   quoting=csv.QUOTE_NONE))


# Other spellings of gene/protein/RNA names (the key is the name the tables use).
ALIASES: dict[str, tuple[str, ...]] = {
    "ABCB1": ("P-gp", "P-glycoprotein", "MDR1", "MDR-1", "Pgp"),
    "SLC29A2": ("ENT2",),
    "SNAI1": ("Snail",),
    "NFE2L2": ("Nrf2",),
    "ESR1": ("ERalpha", "ER alpha", "estrogen receptor alpha"),
    "ELAVL1": ("HuR",),
    "BECN1": ("Beclin1", "Beclin 1", "Beclin-1"),
    "CD274": ("PD-L1",),
    "FASLG": ("FAS ligand", "FasL"),
    "GREM1": ("Gremlin-1", "Gremlin1"),
    "TGFB3": ("TGFbeta3", "TGF-beta3"),
    "CTNNB1": ("beta-catenin",),
    "CDKN1B": ("p27", "p27kip1"),
    "SMPD3": ("nSMase2", "neutral sphingomyelinase"),
    "PRKAA2": ("AMPK alpha2",),
    "STAT3": ("pSTAT3", "p-STAT3"),
    "pSTAT3": ("STAT3", "p-STAT3"),
    "AKT1": ("AKT", "pAKT"),
    "PIK3CA": ("PI3K",),
    "TRPC5": ("TrpC5",),
    "RAB27A": ("Rab-27 A", "Rab27A", "Rab-27A"),
    "RAB27B": ("Rab27B", "Rab-27B", "RAB27A/B"),
    "ATM": ("ATM",),
    "CD63": ("CD63",),
}

# Drugs: table codes and names -> the words an entry would use.
DRUGS: dict[str, tuple[str, ...]] = {
    "GEM": ("gemcitabine",), "gemcitabine": ("gemcitabine",),
    "DDP": ("cisplatin",), "cisplatin": ("cisplatin",),
    "PTX": ("paclitaxel",), "paclitaxel": ("paclitaxel",),
    "DTX": ("docetaxel",), "docetaxel": ("docetaxel",),
    "OXA": ("oxaliplatin",), "oxaliplatin": ("oxaliplatin",),
    "DOX": ("doxorubicin", "adriamycin"), "ADR": ("adriamycin", "doxorubicin"),
    "doxorubicin": ("doxorubicin", "adriamycin"), "adriamycin": ("adriamycin", "doxorubicin"),
    "5-FU": ("5-fluorouracil", "5-FU", "fluorouracil"), "fluorouracil": ("fluorouracil", "5-FU"),
    "MTX": ("methotrexate", "MTX"), "methotrexate": ("methotrexate", "MTX"),
    "taxane": ("taxane", "paclitaxel", "docetaxel"),
    "tamoxifen": ("tamoxifen",), "sorafenib": ("sorafenib",), "lenvatinib": ("lenvatinib",),
    "RT": ("radiotherapy", "radioresistance", "radiation"), "radiotherapy": ("radiotherapy", "radioresistance"),
    "anti-pyrimidine": ("anti-pyrimidine",),
}
DRUG_CODES = ("GEM", "DDP", "PTX", "DTX", "OXA", "DOX", "ADR", "MTX", "5-FU", "RT")  # matched case-sensitively

# Interventions and mechanism subjects: what the row says -> the words an entry on it would use. An EV-inhibitor
# review supports a row naming imipramine as an EV inhibitor (the mechanism's subject).
INTERVENTIONS: dict[str, tuple[str, ...]] = {
    "GW4869": ("GW4869", "EV inhibitor", "exosome inhibitor"),
    "imipramine": ("imipramine", "EV inhibitor", "exosome inhibitor", "acid sphingomyelinase"),
    "acid sphingomyelinase": ("acid sphingomyelinase", "imipramine"),
    "manumycin A": ("manumycin", "EV inhibitor", "exosome inhibitor"),
    "tipifarnib": ("tipifarnib", "EV inhibitor", "exosome inhibitor"),
    "KU60019": ("KU60019", "ATM"),
    "dynasore": ("dynasore", "endocytosis", "endocytic"),
    "endocytosis": ("endocytosis", "endocytic"),
    "antagomir": ("antagomir", "anti-miR", "inhibition of miR", "sponge"),
    "sponge": ("sponge",),
    "LY294002": ("LY294002",),
    "Stattic": ("Stattic", "STAT3"),
    "erastin": ("erastin",), "RSL3": ("RSL3",), "ferrostatin-1": ("ferrostatin",),
    "hypoxia": ("hypoxia", "hypoxic"),
}


def _vocabulary() -> dict[str, tuple[str, ...]]:
    """Gene/RNA/protein names of the model tables, each with its spellings."""
    names: set[str] = set(ALIASES)
    names |= {row["gene"] for row in read_tsv(ROOT / "models" / "tables" / "genes.tsv")}
    for row in read_tsv(ROOT / "models" / "tables" / "cargo.tsv"):
        names |= {row["cargo"], row["target"]}
    names = {n for n in names if n and n != "NA" and not mirnas(n)}  # miRNAs are matched by MIRNA
    return {n: (n, *ALIASES.get(n, ())) for n in names}


GENES = _vocabulary()


def _word(term: str) -> re.Pattern:
    # whole word, plural allowed ('EV inhibitors' mentions 'EV inhibitor')
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(term) + r"(?:e?s)?(?![A-Za-z0-9])", re.IGNORECASE)


_WORDS: dict[str, re.Pattern] = {}


def mentions(text: str, term: str) -> bool:
    if term not in _WORDS:
        _WORDS[term] = _word(term)
    return bool(_WORDS[term].search(text))


@dataclass(frozen=True)
class Named:
    """The things a row names: miRNAs as (number, letter, arm), others as the spellings an entry may use."""
    mirnas: frozenset
    things: dict  # label -> spellings

    def __bool__(self) -> bool:
        return bool(self.mirnas or self.things)

    def labels(self) -> list[str]:
        return sorted({f"miR-{n}{l}{'-' + a if a else ''}" for n, l, a in self.mirnas} | set(self.things))


def named_in(text: str) -> Named:
    text = normalise(text)
    things: dict[str, tuple[str, ...]] = {}
    for name, spellings in GENES.items():
        if any(mentions(text, s) for s in spellings):
            things[name] = spellings
    for name, spellings in (DRUGS | INTERVENTIONS).items():
        if name in DRUG_CODES:
            hit = re.search(r"(?<![A-Za-z0-9-])" + re.escape(name) + r"(?![A-Za-z0-9])", text)
        elif name in DRUGS:
            hit = any(mentions(text, s) for s in (name, *spellings))
        else:  # an intervention or mechanism is named by its own name; its spellings are what an entry may say
            hit = mentions(text, name)
        if hit:
            things[name] = spellings
    return Named(frozenset(mirnas(text)), things)


def supports(seed: str, number: int, named: Named, body_support: bool = True) -> bool:
    """The entry (or the review's body at it, BODY_SUPPORT) mentions at least one named thing."""
    entry = normalise(REFERENCES[seed][number])
    body = BODY_SUPPORT.get((seed, number), ((), ""))[0] if body_support else ()
    entry_mirnas = mirnas(entry) | {m for b in body for m in mirnas(b)}
    if any(same_mirna(a, b) for a in named.mirnas for b in entry_mirnas):
        return True
    for label, spellings in named.things.items():
        if label in body or any(s in body for s in spellings):
            return True
        if any(mentions(entry, s) for s in spellings):
            return True
    return False


# ---------------------------------------------------------------------------------------------------------------------
# finding citations


# '[48]', '[48][33]', '[136, 137]', '003 [66]', '(003 [59])', '[59] of seed 003'
CITATION = re.compile(r"(?P<seed>\b003 ?)?(?<![A-Za-z_.)])(?P<chain>(?:\[\d+(?: ?[,;] ?\d+)*\])+)"
                      r"(?P<of> of seed (?:000|003))?")
AUTHOR = r"(?P<author>[A-Z][A-Za-z'-]+(?: [A-Z][A-Za-z'-]+)?)(?: et al\.?)?,? (?P<year>(?:19|20)\d\d)"
AUTHOR_AFTER = re.compile(r"^[ (]*" + AUTHOR + r"\b")
AUTHOR_BEFORE = re.compile(AUTHOR + r"(?:[ (,]*(?:ref\. )?| \([^()\[\];]*)$")  # 'Richards 2017 (GW4869 ..., [50]'



@dataclass(frozen=True)
class Citation:
    path: str
    line: int
    seed: str
    number: int
    context: str  # the text whose named things the citation must support
    author: str | None = None
    year: str | None = None

    def __str__(self) -> str:
        ref = f"{'003 ' if self.seed == '003' else ''}[{self.number}]"
        return f"{self.path}:{self.line} {ref}"


def citations_in(line: str, context: str, path: str, lineno: int) -> list[Citation]:
    found = []
    for m in CITATION.finditer(line):
        seed = "003" if m.group("seed") or (m.group("of") or "").endswith("003") else "000"
        after = AUTHOR_AFTER.match(line[m.end():])
        before = AUTHOR_BEFORE.search(line[:m.start("seed") if m.group("seed") else m.start()])
        author = after or before
        for number in re.findall(r"\d+", m.group("chain")):
            found.append(Citation(path, lineno, seed, int(number), context,
                                  author.group("author") if author else None, author.group("year") if author else None))
    return found


def citations_in_file(path: Path) -> list[Citation]:
    rel = str(path.relative_to(ROOT))
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Citation] = []
    header: list[str] | None = None
    for lineno, line in enumerate(lines, 1):
        context = line
        comment = re.compile(r"^\s*(//|#)")
        if path.suffix != ".tsv" and lineno > 1 and comment.match(line) and comment.match(lines[lineno - 2]):
            context = lines[lineno - 2] + " " + line  # comment sentences wrap: the line before belongs to it
        if path.suffix == ".tsv" and not line.startswith("#"):
            cells = line.split("\t")
            if header is None:
                header = cells
                continue
            if path.name == "cargo.tsv":  # a cargo row names its cargo, target and drug
                row = dict(zip(header, cells))
                context = " ".join((row["cargo"], row["target"], row["drug"].replace("/", " ")))
        if path.parent.name == "experiments":
            if "#" not in line:
                continue
            line = line[line.index("#"):]  # comments only: spec values are not citations
            context = context[context.index("#"):]
        found += citations_in(line, context, rel, lineno)
    return found


def model_files() -> list[Path]:
    files = [p for ext in ("tsv", "toml", "ant", "bnet") for p in (ROOT / "models").rglob(f"*.{ext}")]
    return sorted(files) + sorted((ROOT / "experiments").glob("*.toml"))


ALL_CITATIONS = [c for path in model_files() for c in citations_in_file(path)]


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, prose) of README.md (outside code) or a Python file (comments and docstrings)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[tuple[int, str]] = []
    inside = False  # in a code fence (markdown) or a docstring (Python)
    for lineno, line in enumerate(lines, 1):
        if path.suffix == ".md":
            if line.startswith("```"):
                inside = not inside
            elif not inside:
                out.append((lineno, re.sub(r"`[^`]*`", "", line)))
            continue
        quotes = line.count('"""')
        if inside or quotes:
            out.append((lineno, line))
        elif "#" in line:
            out.append((lineno, line[line.index("#"):]))
        if quotes % 2:
            inside = not inside
    return out


def prose_citations() -> list[Citation]:
    """Citations in README.md and in the comments and docstrings of sim/ and tests/ ('[0, 1]' is an interval)."""
    files = [ROOT / "README.md", *sorted((ROOT / "sim").rglob("*.py")),
             *sorted(p for p in (ROOT / "tests").glob("*.py") if p.name != Path(__file__).name)]
    found = []
    for path in files:
        previous = (0, "")
        for lineno, line in prose_lines(path):
            context = (previous[1] + " " + line) if previous[0] == lineno - 1 else line  # sentences wrap
            found += [c for c in citations_in(line, context, str(path.relative_to(ROOT)), lineno) if c.number > 1
                      or not re.search(r"\[0(, ?1)?\]", line)]
            previous = (lineno, line)
    return found


PROSE_CITATIONS = prose_citations()


# ---------------------------------------------------------------------------------------------------------------------
# checks


def check(c: Citation) -> str | None:
    """Why the citation is wrong, or None."""
    refs = REFERENCES[c.seed]
    if c.number not in refs:
        return f"{c}: seed {c.seed} has references 1-{max(refs)}"
    entry = refs[c.number]
    first = normalise(entry).lower()
    if c.author and not ((first.startswith(c.author.lower()) or first.startswith(c.author.split()[-1].lower() + " "))
                         and c.year in entry):
        return f"{c}: says {c.author} {c.year}, but the entry is {entry[:90]!r}"
    named = named_in(c.context)
    if named and not supports(c.seed, c.number, named):
        return f"{c}: names {', '.join(named.labels())}; the entry mentions none of them: {entry[:110]!r}"
    return None


def test_reference_lists_are_complete():
    assert sorted(REFERENCES["000"]) == list(range(1, 140))
    assert sorted(REFERENCES["003"]) == list(range(1, 176))
    assert REFERENCES["000"][29].startswith("Fang Y") and "miRNA-106b" in REFERENCES["000"][29]
    assert REFERENCES["000"][50].startswith("Richards KE, Zeleniak AE")
    assert REFERENCES["003"][80].startswith("Cao YL") and "DNMT1" in REFERENCES["003"][80]


def test_the_model_files_cite():
    assert len(ALL_CITATIONS) > 150  # the scan finds the tables' citations
    assert {c.path for c in ALL_CITATIONS} >= {"models/tables/cargo.tsv", "models/boolean/nodes.tsv",
                                                "models/scenarios.toml", "models/ode/ev_supply.ant"}


@pytest.mark.parametrize("citation", ALL_CITATIONS, ids=str)
def test_citation_exists_and_supports_its_row(citation):
    problem = check(citation)
    assert problem is None, problem


@pytest.mark.parametrize("citation", PROSE_CITATIONS, ids=str)
def test_citation_in_prose_exists_and_supports_its_line(citation):
    problem = check(citation)
    assert problem is None, problem


def test_a_seed_003_citation_needs_its_number():
    # '003 (Zn2+/AKT axis)' or '003: Zn2+/AKT' cites the review without saying which reference
    bad = [f"{p.relative_to(ROOT)}:{i}" for p in model_files()
           for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
           if re.search(r"(?<!review )(?<!seed )\b003 ?[:(](?!\d)", line)]
    assert not bad, bad


def test_body_support_entries_are_used():
    # every allow-list entry rescues at least one citation of the model files
    rescued = {(c.seed, c.number) for c in ALL_CITATIONS if c.number in REFERENCES[c.seed] and named_in(c.context)
               and supports(c.seed, c.number, named_in(c.context))
               and not supports(c.seed, c.number, named_in(c.context), body_support=False)}
    assert set(BODY_SUPPORT) - rescued == set()


def test_body_support_entries_are_needed():
    # an allow-list entry whose printed text already names what it is listed for is noise
    for (seed, number), (names, why) in BODY_SUPPORT.items():
        assert number in REFERENCES[seed] and why
        entry = normalise(REFERENCES[seed][number])
        for name in names:
            spellings = GENES.get(name) or DRUGS.get(name) or INTERVENTIONS.get(name) or (name,)
            assert not (mirnas(name) & mirnas(entry)) and not any(mentions(entry, s) for s in spellings), \
                (seed, number, name)


# ---------------------------------------------------------------------------------------------------------------------
# the checker catches wrong citations


def _cargo_row(cargo: str, target: str, drug: str, reference: str) -> Citation:
    header = "cargo\tkind\ttarget\teffect\tresistance\tcancer\tdrug\treference\tnote"
    row = f"{cargo}\tmiRNA\t{target}\trepress\t+\tPDAC\t{drug}\t{reference}\t"
    path = ROOT / "tests" / "data" / "seeds" / "cargo.tsv"  # not written; parsed as a cargo table
    cells = dict(zip(header.split("\t"), row.split("\t")))
    context = " ".join((cells["cargo"], cells["target"], cells["drug"]))
    return citations_in(row, context, str(path.relative_to(ROOT)), 2)[0]


def test_checker_catches_a_wrong_number():
    assert check(_cargo_row("miR-106b", "TP53INP1", "GEM", "[29] (Fang 2019)")) is None
    assert "mentions none" in check(_cargo_row("miR-106b", "TP53INP1", "GEM", "[30]"))
    assert "mentions none" in check(_cargo_row("miR-522", "ALOX15", "DDP", "[43]"))  # next entry, other miRNA
    assert "has references" in check(_cargo_row("miR-106b", "TP53INP1", "GEM", "[140]"))
    assert "has references" in check(_cargo_row("miR-106b", "TP53INP1", "GEM", "003 [176]"))


def test_checker_catches_a_wrong_author_year():
    [c] = citations_in("CAF\tinput\tco-culture\t-\t[29] Richards 2017", "CAF co-culture", "nodes.tsv", 6)
    assert "says Richards 2017" in check(c)
    [c] = citations_in("CAF\tinput\tco-culture\t-\t[50] Richards 2017", "CAF co-culture", "nodes.tsv", 6)
    assert check(c) is None
    [c] = citations_in("GW4869 (Trajkovic 2008; Richards 2017 [29])", "", "x.py", 1)
    assert c.author == "Richards" and "says Richards 2017" in check(c)
    line = "# Richards 2017 (GW4869 blocks CAF-exosome-mediated GEM resistance, [29] of seed 000)"
    [c] = citations_in(line, "", "x.toml", 1)
    assert c.author == "Richards" and "says Richards 2017" in check(c)


def test_checker_reads_lines_and_seeds():
    line = "GW4869\tGW4869\tact_nsmase2\tinhibit\t3\tuM\t1\t0.9\t10\tDESIGN 2.1; 003 [59]\tnSMase2 inhibitor"
    [c] = citations_in(line, line, "interventions.tsv", 7)
    assert c.seed == "003" and c.number == 59 and "mentions none" in check(c)  # 003 [59] is the Rab27A paper
    [c] = citations_in(line.replace("003 [59]", "003 [80]"), line, "interventions.tsv", 7)
    assert check(c) is None
    cs = citations_in("PTEN; target of miR-21/-20a [48][33]; 003 [86]", "PTEN miR-21/-20a", "genes.tsv", 7)
    assert [(c.seed, c.number) for c in cs] == [("000", 48), ("000", 33), ("003", 86)]
    assert all(check(c) is None for c in cs)
    [c] = citations_in("imipramine (acid sphingomyelinase inhibitor) [139]", "imipramine", "x.ant", 1)
    assert check(c) is None  # a review of EV inhibitors supports an EV inhibitor
    [c] = citations_in("imipramine [29]", "imipramine", "x.ant", 1)
    assert "mentions none" in check(c)
    [c] = citations_in("EV miR-3173-5p represses ACSL4 ([59] of seed 003)", "miR-3173-5p ACSL4", "x.py", 1)
    assert c.seed == "003" and "mentions none" in check(c)
    assert named_in("miRNA-106b").mirnas == named_in("microRNA-106b").mirnas == named_in("mir_106b").mirnas
    assert not any(same_mirna(a, b) for a in mirnas("miR-21") for b in mirnas("miR-210"))
    assert mirnas("miR-221/222") == {("221", "", ""), ("222", "", "")}
