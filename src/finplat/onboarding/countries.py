"""ISO 3166-1 countries, and the codes ICAO Doc 9303 adds to them in machine-readable zones.

MRZs print nationality and issuing state as three letters: ISO 3166-1 alpha-3 for states, plus
a few codes of ICAO's own (Germany's "D", the British nationality variants, UN and EU
documents, stateless persons and refugees). Applications store nationality as alpha-2, so
comparing the two needs this table. The data is written out here rather than read from a
package, so that it is pure, reviewable and fixed until someone changes it on purpose.
"""

from __future__ import annotations

from typing import Final

#: (alpha-2, alpha-3, English short name) for every current ISO 3166-1 entry, by alpha-2.
COUNTRIES: Final[tuple[tuple[str, str, str], ...]] = (
    ("AD", "AND", "Andorra"),
    ("AE", "ARE", "United Arab Emirates"),
    ("AF", "AFG", "Afghanistan"),
    ("AG", "ATG", "Antigua and Barbuda"),
    ("AI", "AIA", "Anguilla"),
    ("AL", "ALB", "Albania"),
    ("AM", "ARM", "Armenia"),
    ("AO", "AGO", "Angola"),
    ("AQ", "ATA", "Antarctica"),
    ("AR", "ARG", "Argentina"),
    ("AS", "ASM", "American Samoa"),
    ("AT", "AUT", "Austria"),
    ("AU", "AUS", "Australia"),
    ("AW", "ABW", "Aruba"),
    ("AX", "ALA", "Åland Islands"),
    ("AZ", "AZE", "Azerbaijan"),
    ("BA", "BIH", "Bosnia and Herzegovina"),
    ("BB", "BRB", "Barbados"),
    ("BD", "BGD", "Bangladesh"),
    ("BE", "BEL", "Belgium"),
    ("BF", "BFA", "Burkina Faso"),
    ("BG", "BGR", "Bulgaria"),
    ("BH", "BHR", "Bahrain"),
    ("BI", "BDI", "Burundi"),
    ("BJ", "BEN", "Benin"),
    ("BL", "BLM", "Saint Barthélemy"),
    ("BM", "BMU", "Bermuda"),
    ("BN", "BRN", "Brunei Darussalam"),
    ("BO", "BOL", "Bolivia, Plurinational State of"),
    ("BQ", "BES", "Bonaire, Sint Eustatius and Saba"),
    ("BR", "BRA", "Brazil"),
    ("BS", "BHS", "Bahamas"),
    ("BT", "BTN", "Bhutan"),
    ("BV", "BVT", "Bouvet Island"),
    ("BW", "BWA", "Botswana"),
    ("BY", "BLR", "Belarus"),
    ("BZ", "BLZ", "Belize"),
    ("CA", "CAN", "Canada"),
    ("CC", "CCK", "Cocos (Keeling) Islands"),
    ("CD", "COD", "Congo, The Democratic Republic of the"),
    ("CF", "CAF", "Central African Republic"),
    ("CG", "COG", "Congo"),
    ("CH", "CHE", "Switzerland"),
    ("CI", "CIV", "Côte d'Ivoire"),
    ("CK", "COK", "Cook Islands"),
    ("CL", "CHL", "Chile"),
    ("CM", "CMR", "Cameroon"),
    ("CN", "CHN", "China"),
    ("CO", "COL", "Colombia"),
    ("CR", "CRI", "Costa Rica"),
    ("CU", "CUB", "Cuba"),
    ("CV", "CPV", "Cabo Verde"),
    ("CW", "CUW", "Curaçao"),
    ("CX", "CXR", "Christmas Island"),
    ("CY", "CYP", "Cyprus"),
    ("CZ", "CZE", "Czechia"),
    ("DE", "DEU", "Germany"),
    ("DJ", "DJI", "Djibouti"),
    ("DK", "DNK", "Denmark"),
    ("DM", "DMA", "Dominica"),
    ("DO", "DOM", "Dominican Republic"),
    ("DZ", "DZA", "Algeria"),
    ("EC", "ECU", "Ecuador"),
    ("EE", "EST", "Estonia"),
    ("EG", "EGY", "Egypt"),
    ("EH", "ESH", "Western Sahara"),
    ("ER", "ERI", "Eritrea"),
    ("ES", "ESP", "Spain"),
    ("ET", "ETH", "Ethiopia"),
    ("FI", "FIN", "Finland"),
    ("FJ", "FJI", "Fiji"),
    ("FK", "FLK", "Falkland Islands (Malvinas)"),
    ("FM", "FSM", "Micronesia, Federated States of"),
    ("FO", "FRO", "Faroe Islands"),
    ("FR", "FRA", "France"),
    ("GA", "GAB", "Gabon"),
    ("GB", "GBR", "United Kingdom"),
    ("GD", "GRD", "Grenada"),
    ("GE", "GEO", "Georgia"),
    ("GF", "GUF", "French Guiana"),
    ("GG", "GGY", "Guernsey"),
    ("GH", "GHA", "Ghana"),
    ("GI", "GIB", "Gibraltar"),
    ("GL", "GRL", "Greenland"),
    ("GM", "GMB", "Gambia"),
    ("GN", "GIN", "Guinea"),
    ("GP", "GLP", "Guadeloupe"),
    ("GQ", "GNQ", "Equatorial Guinea"),
    ("GR", "GRC", "Greece"),
    ("GS", "SGS", "South Georgia and the South Sandwich Islands"),
    ("GT", "GTM", "Guatemala"),
    ("GU", "GUM", "Guam"),
    ("GW", "GNB", "Guinea-Bissau"),
    ("GY", "GUY", "Guyana"),
    ("HK", "HKG", "Hong Kong"),
    ("HM", "HMD", "Heard Island and McDonald Islands"),
    ("HN", "HND", "Honduras"),
    ("HR", "HRV", "Croatia"),
    ("HT", "HTI", "Haiti"),
    ("HU", "HUN", "Hungary"),
    ("ID", "IDN", "Indonesia"),
    ("IE", "IRL", "Ireland"),
    ("IL", "ISR", "Israel"),
    ("IM", "IMN", "Isle of Man"),
    ("IN", "IND", "India"),
    ("IO", "IOT", "British Indian Ocean Territory"),
    ("IQ", "IRQ", "Iraq"),
    ("IR", "IRN", "Iran, Islamic Republic of"),
    ("IS", "ISL", "Iceland"),
    ("IT", "ITA", "Italy"),
    ("JE", "JEY", "Jersey"),
    ("JM", "JAM", "Jamaica"),
    ("JO", "JOR", "Jordan"),
    ("JP", "JPN", "Japan"),
    ("KE", "KEN", "Kenya"),
    ("KG", "KGZ", "Kyrgyzstan"),
    ("KH", "KHM", "Cambodia"),
    ("KI", "KIR", "Kiribati"),
    ("KM", "COM", "Comoros"),
    ("KN", "KNA", "Saint Kitts and Nevis"),
    ("KP", "PRK", "Korea, Democratic People's Republic of"),
    ("KR", "KOR", "Korea, Republic of"),
    ("KW", "KWT", "Kuwait"),
    ("KY", "CYM", "Cayman Islands"),
    ("KZ", "KAZ", "Kazakhstan"),
    ("LA", "LAO", "Lao People's Democratic Republic"),
    ("LB", "LBN", "Lebanon"),
    ("LC", "LCA", "Saint Lucia"),
    ("LI", "LIE", "Liechtenstein"),
    ("LK", "LKA", "Sri Lanka"),
    ("LR", "LBR", "Liberia"),
    ("LS", "LSO", "Lesotho"),
    ("LT", "LTU", "Lithuania"),
    ("LU", "LUX", "Luxembourg"),
    ("LV", "LVA", "Latvia"),
    ("LY", "LBY", "Libya"),
    ("MA", "MAR", "Morocco"),
    ("MC", "MCO", "Monaco"),
    ("MD", "MDA", "Moldova, Republic of"),
    ("ME", "MNE", "Montenegro"),
    ("MF", "MAF", "Saint Martin (French part)"),
    ("MG", "MDG", "Madagascar"),
    ("MH", "MHL", "Marshall Islands"),
    ("MK", "MKD", "North Macedonia"),
    ("ML", "MLI", "Mali"),
    ("MM", "MMR", "Myanmar"),
    ("MN", "MNG", "Mongolia"),
    ("MO", "MAC", "Macao"),
    ("MP", "MNP", "Northern Mariana Islands"),
    ("MQ", "MTQ", "Martinique"),
    ("MR", "MRT", "Mauritania"),
    ("MS", "MSR", "Montserrat"),
    ("MT", "MLT", "Malta"),
    ("MU", "MUS", "Mauritius"),
    ("MV", "MDV", "Maldives"),
    ("MW", "MWI", "Malawi"),
    ("MX", "MEX", "Mexico"),
    ("MY", "MYS", "Malaysia"),
    ("MZ", "MOZ", "Mozambique"),
    ("NA", "NAM", "Namibia"),
    ("NC", "NCL", "New Caledonia"),
    ("NE", "NER", "Niger"),
    ("NF", "NFK", "Norfolk Island"),
    ("NG", "NGA", "Nigeria"),
    ("NI", "NIC", "Nicaragua"),
    ("NL", "NLD", "Netherlands"),
    ("NO", "NOR", "Norway"),
    ("NP", "NPL", "Nepal"),
    ("NR", "NRU", "Nauru"),
    ("NU", "NIU", "Niue"),
    ("NZ", "NZL", "New Zealand"),
    ("OM", "OMN", "Oman"),
    ("PA", "PAN", "Panama"),
    ("PE", "PER", "Peru"),
    ("PF", "PYF", "French Polynesia"),
    ("PG", "PNG", "Papua New Guinea"),
    ("PH", "PHL", "Philippines"),
    ("PK", "PAK", "Pakistan"),
    ("PL", "POL", "Poland"),
    ("PM", "SPM", "Saint Pierre and Miquelon"),
    ("PN", "PCN", "Pitcairn"),
    ("PR", "PRI", "Puerto Rico"),
    ("PS", "PSE", "Palestine, State of"),
    ("PT", "PRT", "Portugal"),
    ("PW", "PLW", "Palau"),
    ("PY", "PRY", "Paraguay"),
    ("QA", "QAT", "Qatar"),
    ("RE", "REU", "Réunion"),
    ("RO", "ROU", "Romania"),
    ("RS", "SRB", "Serbia"),
    ("RU", "RUS", "Russian Federation"),
    ("RW", "RWA", "Rwanda"),
    ("SA", "SAU", "Saudi Arabia"),
    ("SB", "SLB", "Solomon Islands"),
    ("SC", "SYC", "Seychelles"),
    ("SD", "SDN", "Sudan"),
    ("SE", "SWE", "Sweden"),
    ("SG", "SGP", "Singapore"),
    ("SH", "SHN", "Saint Helena, Ascension and Tristan da Cunha"),
    ("SI", "SVN", "Slovenia"),
    ("SJ", "SJM", "Svalbard and Jan Mayen"),
    ("SK", "SVK", "Slovakia"),
    ("SL", "SLE", "Sierra Leone"),
    ("SM", "SMR", "San Marino"),
    ("SN", "SEN", "Senegal"),
    ("SO", "SOM", "Somalia"),
    ("SR", "SUR", "Suriname"),
    ("SS", "SSD", "South Sudan"),
    ("ST", "STP", "Sao Tome and Principe"),
    ("SV", "SLV", "El Salvador"),
    ("SX", "SXM", "Sint Maarten (Dutch part)"),
    ("SY", "SYR", "Syrian Arab Republic"),
    ("SZ", "SWZ", "Eswatini"),
    ("TC", "TCA", "Turks and Caicos Islands"),
    ("TD", "TCD", "Chad"),
    ("TF", "ATF", "French Southern Territories"),
    ("TG", "TGO", "Togo"),
    ("TH", "THA", "Thailand"),
    ("TJ", "TJK", "Tajikistan"),
    ("TK", "TKL", "Tokelau"),
    ("TL", "TLS", "Timor-Leste"),
    ("TM", "TKM", "Turkmenistan"),
    ("TN", "TUN", "Tunisia"),
    ("TO", "TON", "Tonga"),
    ("TR", "TUR", "Türkiye"),
    ("TT", "TTO", "Trinidad and Tobago"),
    ("TV", "TUV", "Tuvalu"),
    ("TW", "TWN", "Taiwan, Province of China"),
    ("TZ", "TZA", "Tanzania, United Republic of"),
    ("UA", "UKR", "Ukraine"),
    ("UG", "UGA", "Uganda"),
    ("UM", "UMI", "United States Minor Outlying Islands"),
    ("US", "USA", "United States"),
    ("UY", "URY", "Uruguay"),
    ("UZ", "UZB", "Uzbekistan"),
    ("VA", "VAT", "Holy See (Vatican City State)"),
    ("VC", "VCT", "Saint Vincent and the Grenadines"),
    ("VE", "VEN", "Venezuela, Bolivarian Republic of"),
    ("VG", "VGB", "Virgin Islands, British"),
    ("VI", "VIR", "Virgin Islands, U.S."),
    ("VN", "VNM", "Viet Nam"),
    ("VU", "VUT", "Vanuatu"),
    ("WF", "WLF", "Wallis and Futuna"),
    ("WS", "WSM", "Samoa"),
    ("YE", "YEM", "Yemen"),
    ("YT", "MYT", "Mayotte"),
    ("ZA", "ZAF", "South Africa"),
    ("ZM", "ZMB", "Zambia"),
    ("ZW", "ZWE", "Zimbabwe"),
)

#: MRZ codes that are not ISO alpha-3 codes: code -> (alpha-2 or None, description).
#: "UN", "EU" and "XK" are not ISO 3166-1 countries: "UN" and "EU" are exceptionally reserved
#: alpha-2 codes, "XK" the user-assigned code in general use for Kosovo. The "XX?" codes name
#: no state at all, so they have no alpha-2.
ICAO_SPECIAL_CODES: Final[dict[str, tuple[str | None, str]]] = {
    "D": ("DE", "Germany"),
    "GBD": ("GB", "British Overseas Territories Citizen"),
    "GBN": ("GB", "British National (Overseas)"),
    "GBO": ("GB", "British Overseas Citizen"),
    "GBP": ("GB", "British Protected Person"),
    "GBS": ("GB", "British Subject"),
    "UNO": ("UN", "United Nations Organization"),
    "UNA": ("UN", "a specialized agency of the United Nations"),
    "UNK": ("UN", "a resident of Kosovo with a travel document issued by UNMIK"),
    "EUE": ("EU", "European Union"),
    "RKS": ("XK", "Kosovo"),
    "XXA": (None, "a stateless person"),
    "XXB": (None, "a refugee (1951 Convention)"),
    "XXC": (None, "a refugee (other than the 1951 Convention)"),
    "XXX": (None, "a person of unspecified nationality"),
}

#: The alpha-2 codes that only the ICAO codes reach, and the ICAO code that stands for each.
_SPECIAL_ALPHA2: Final[dict[str, tuple[str, str]]] = {
    "XK": ("RKS", "Kosovo"),
    "EU": ("EUE", "European Union"),
    "UN": ("UNO", "United Nations"),
}

_BY_ALPHA2: Final = {alpha2: (alpha3, name) for alpha2, alpha3, name in COUNTRIES}
_BY_ALPHA3: Final = {alpha3: (alpha2, name) for alpha2, alpha3, name in COUNTRIES}


def alpha3_to_alpha2(code: str) -> str | None:
    """The alpha-2 code for an ISO alpha-3 code or an ICAO MRZ code, None when there is none.

    Trailing MRZ fillers are ignored, so "D<<" reads as "D". Codes are upper case, as an MRZ
    prints them; anything else is unknown. Stateless and refugee codes ("XXA"...) give None.
    """
    code = code.rstrip("<")
    if code in _BY_ALPHA3:
        return _BY_ALPHA3[code][0]
    special = ICAO_SPECIAL_CODES.get(code)
    return special[0] if special else None


def alpha2_to_alpha3(alpha2: str) -> str | None:
    """The alpha-3 code for an alpha-2 code: ISO's for countries ("DE" -> "DEU", never "D"),
    ICAO's for "XK", "EU" and "UN"."""
    if alpha2 in _BY_ALPHA2:
        return _BY_ALPHA2[alpha2][0]
    special = _SPECIAL_ALPHA2.get(alpha2)
    return special[0] if special else None


def is_country(alpha2: str) -> bool:
    """Whether `alpha2` is an ISO 3166-1 country code (upper case; "XK", "EU", "UN" are not)."""
    return alpha2 in _BY_ALPHA2


def country_name(alpha2: str) -> str | None:
    """The English short name of a country (ISO's spelling), or of "XK", "EU" and "UN"."""
    if alpha2 in _BY_ALPHA2:
        return _BY_ALPHA2[alpha2][1]
    special = _SPECIAL_ALPHA2.get(alpha2)
    return special[1] if special else None


def mrz_code_name(code: str) -> str | None:
    """What an MRZ nationality or issuing-state code stands for, in words, for messages."""
    code = code.rstrip("<")
    if code in _BY_ALPHA3:
        return _BY_ALPHA3[code][1]
    special = ICAO_SPECIAL_CODES.get(code)
    return special[1] if special else None
