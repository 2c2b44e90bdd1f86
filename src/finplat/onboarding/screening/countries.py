"""Country names as lists write them (UN long forms, OFAC short forms, demonyms used as
nationalities) mapped to ISO 3166-1 alpha-2, so a subject's "DE" meets a list's "Germany".

Unknown names are kept as upper-case text: a list may name a former state ("former Soviet
Union") that has no code, and the comparison then falls back to text.
"""

from __future__ import annotations

import re

from anyascii import anyascii

# code, then the names and spellings that mean it, separated by "|".
_TABLE = """
AD Andorra
AE United Arab Emirates|UAE|Emirati
AF Afghanistan|Afghan
AG Antigua and Barbuda
AI Anguilla
AL Albania|Albanian
AM Armenia|Armenian
AO Angola|Angolan
AQ Antarctica
AR Argentina|Argentine|Argentinian
AS American Samoa
AT Austria|Austrian
AU Australia|Australian
AW Aruba
AX Aland Islands
AZ Azerbaijan|Azerbaijani
BA Bosnia and Herzegovina|Bosnia|Bosnian
BB Barbados
BD Bangladesh|Bangladeshi
BE Belgium|Belgian
BF Burkina Faso
BG Bulgaria|Bulgarian
BH Bahrain|Bahraini
BI Burundi|Burundian
BJ Benin
BL Saint Barthelemy
BM Bermuda
BN Brunei Darussalam|Brunei
BO Bolivia|Bolivia (Plurinational State of)|Plurinational State of Bolivia|Bolivian
BQ Bonaire, Sint Eustatius and Saba
BR Brazil|Brazilian
BS Bahamas|The Bahamas|Bahamas, The
BT Bhutan
BV Bouvet Island
BW Botswana
BY Belarus|Belarusian|Byelorussia
BZ Belize|Belizean
CA Canada|Canadian
CC Cocos (Keeling) Islands
CD Democratic Republic of the Congo|Congo, Democratic Republic of the|DRC|DR Congo|Zaire
CF Central African Republic
CG Congo|Republic of the Congo|Congo, Republic of the|Congo-Brazzaville
CH Switzerland|Swiss
CI Cote d'Ivoire|Ivory Coast
CK Cook Islands
CL Chile|Chilean
CM Cameroon|Cameroonian
CN China|People's Republic of China|Chinese
CO Colombia|Colombian
CR Costa Rica
CU Cuba|Cuban
CV Cabo Verde|Cape Verde
CW Curacao
CX Christmas Island
CY Cyprus|Cypriot
CZ Czechia|Czech Republic|Czech
DE Germany|German|Federal Republic of Germany
DJ Djibouti
DK Denmark|Danish
DM Dominica
DO Dominican Republic
DZ Algeria|Algerian
EC Ecuador|Ecuadorian
EE Estonia|Estonian
EG Egypt|Egyptian
EH Western Sahara
ER Eritrea|Eritrean
ES Spain|Spanish
ET Ethiopia|Ethiopian
FI Finland|Finnish
FJ Fiji
FK Falkland Islands
FM Micronesia|Micronesia (Federated States of)|Micronesia, Federated States of
FO Faroe Islands
FR France|French
GA Gabon|Gabonese
GB United Kingdom|United Kingdom of Great Britain and Northern Ireland|UK|Great Britain|British
GD Grenada
GE Georgia|Georgian
GF French Guiana
GG Guernsey
GH Ghana|Ghanaian
GI Gibraltar
GL Greenland
GM Gambia|The Gambia|Gambia, The
GN Guinea|Guinean
GP Guadeloupe
GQ Equatorial Guinea
GR Greece|Greek
GS South Georgia and the South Sandwich Islands
GT Guatemala|Guatemalan
GU Guam
GW Guinea-Bissau
GY Guyana
HK Hong Kong|Hong Kong SAR
HM Heard Island and McDonald Islands
HN Honduras|Honduran
HR Croatia|Croatian
HT Haiti|Haitian
HU Hungary|Hungarian
ID Indonesia|Indonesian
IE Ireland|Irish
IL Israel|Israeli
IM Isle of Man
IN India|Indian
IO British Indian Ocean Territory
IQ Iraq|Iraqi
IR Iran|Iran (Islamic Republic of)|Islamic Republic of Iran|Iranian
IS Iceland
IT Italy|Italian
JE Jersey
JM Jamaica|Jamaican
JO Jordan|Jordanian
JP Japan|Japanese
KE Kenya|Kenyan
KG Kyrgyzstan|Kyrgyz
KH Cambodia|Cambodian
KI Kiribati
KM Comoros
KN Saint Kitts and Nevis
KP Democratic People's Republic of Korea|Korea, North|North Korea|DPRK
KR Republic of Korea|Korea, South|South Korea
KW Kuwait|Kuwaiti
KY Cayman Islands
KZ Kazakhstan|Kazakh
LA Lao People's Democratic Republic|Laos
LB Lebanon|Lebanese
LC Saint Lucia
LI Liechtenstein
LK Sri Lanka
LR Liberia|Liberian
LS Lesotho
LT Lithuania|Lithuanian
LU Luxembourg
LV Latvia|Latvian
LY Libya|Libyan|Libyan Arab Jamahiriya
MA Morocco|Moroccan
MC Monaco
MD Republic of Moldova|Moldova
ME Montenegro
MF Saint Martin
MG Madagascar
MH Marshall Islands
MK North Macedonia|Macedonia|The former Yugoslav Republic of Macedonia
ML Mali|Malian
MM Myanmar|Burma
MN Mongolia
MO Macao|Macau
MP Northern Mariana Islands
MQ Martinique
MR Mauritania|Mauritanian
MS Montserrat
MT Malta|Maltese
MU Mauritius
MV Maldives
MW Malawi
MX Mexico|Mexican
MY Malaysia|Malaysian
MZ Mozambique
NA Namibia
NC New Caledonia
NE Niger|Nigerien
NF Norfolk Island
NG Nigeria|Nigerian
NI Nicaragua|Nicaraguan
NL Netherlands|Kingdom of the Netherlands|Dutch
NO Norway|Norwegian
NP Nepal
NR Nauru
NU Niue
NZ New Zealand
OM Oman
PA Panama|Panamanian
PE Peru|Peruvian
PF French Polynesia
PG Papua New Guinea
PH Philippines|Filipino
PK Pakistan|Pakistani
PL Poland|Polish
PM Saint Pierre and Miquelon
PN Pitcairn
PR Puerto Rico
PS State of Palestine|Palestine|Palestinian|West Bank|Gaza
PT Portugal|Portuguese
PW Palau
PY Paraguay
QA Qatar|Qatari
RE Reunion
RO Romania|Romanian
RS Serbia|Serbian
RU Russian Federation|Russia|Russian
RW Rwanda|Rwandan
SA Saudi Arabia|Saudi
SB Solomon Islands
SC Seychelles
SD Sudan|Sudanese
SE Sweden|Swedish
SG Singapore
SH Saint Helena
SI Slovenia
SJ Svalbard and Jan Mayen
SK Slovakia
SL Sierra Leone
SM San Marino
SN Senegal|Senegalese
SO Somalia|Somali
SR Suriname
SS South Sudan
ST Sao Tome and Principe
SV El Salvador
SX Sint Maarten
SY Syrian Arab Republic|Syria|Syrian
SZ Eswatini|Swaziland
TC Turks and Caicos Islands
TD Chad|Chadian
TF French Southern Territories
TG Togo
TH Thailand|Thai
TJ Tajikistan|Tajik
TK Tokelau
TL Timor-Leste|East Timor
TM Turkmenistan
TN Tunisia|Tunisian
TO Tonga
TR Turkiye|Turkey|Turkish
TT Trinidad and Tobago
TV Tuvalu
TW Taiwan
TZ United Republic of Tanzania|Tanzania
UA Ukraine|Ukrainian
UG Uganda|Ugandan
UM United States Minor Outlying Islands
US United States of America|United States|USA|American
UY Uruguay
UZ Uzbekistan|Uzbek
VA Holy See|Vatican
VC Saint Vincent and the Grenadines
VE Venezuela|Venezuela (Bolivarian Republic of)|Venezuelan
VG British Virgin Islands|Virgin Islands, British
VI United States Virgin Islands|Virgin Islands, U.S.
VN Viet Nam|Vietnam|Vietnamese
VU Vanuatu
WF Wallis and Futuna
WS Samoa
XK Kosovo
YE Yemen|Yemeni
YT Mayotte
ZA South Africa|South African
ZM Zambia
ZW Zimbabwe|Zimbabwean
"""

_NOISE = re.compile(r"[^A-Z0-9]+")


def _key(text: str) -> str:
    return _NOISE.sub("", anyascii(text).upper().replace("&", "AND"))


def _build() -> tuple[dict[str, str], frozenset[str]]:
    by_name: dict[str, str] = {}
    codes: set[str] = set()
    for line in _TABLE.strip().splitlines():
        code, names = line.split(" ", 1)
        codes.add(code)
        for name in names.split("|"):
            by_name[_key(name)] = code
            if _key(name).startswith("THE"):
                by_name[_key(name)[3:]] = code
    return by_name, frozenset(codes)


_BY_NAME, ISO_CODES = _build()
_UNKNOWN = {"", "NONE", "UNKNOWN", "N/A", "N.A."}


def country_code(text: str) -> str | None:
    """ISO 3166-1 alpha-2 for a country name, demonym or code; otherwise the name in upper
    case; None for blanks and placeholders ("na", "unknown")."""
    cleaned = " ".join(anyascii(text).split()).strip(" ,;")
    if cleaned.upper() in _UNKNOWN or cleaned == "na":  # the UN writes "na" for not known
        return None
    if len(cleaned) == 2 and cleaned.upper() in ISO_CODES:
        return cleaned.upper()
    return _BY_NAME.get(_key(cleaned), cleaned.upper())


def is_iso_code(value: str) -> bool:
    return value in ISO_CODES
