"""Kota Tangerang: its 13 kecamatan and their 104 kelurahan.

Shops choose from these lists rather than typing, so reports per kecamatan and
kelurahan add up without spelling variants.
"""


# Kemendagri region codes (Permendagri on kode dan data wilayah): Banten 36, Kota
# Tangerang 36.71, then the kecamatan, then the kelurahan (1xxx: a kelurahan, not a desa).
# The names above are the ones shops chose from since the start; where the official
# spelling differs it is noted, and the code is the official one.
CITY_CODE = "36.71"
KECAMATAN_CODES: dict[str, str] = {
    "Tangerang": "36.71.01", "Jatiuwung": "36.71.02", "Batuceper": "36.71.03",
    "Benda": "36.71.04", "Cipondoh": "36.71.05", "Ciledug": "36.71.06",
    "Karawaci": "36.71.07", "Periuk": "36.71.08", "Cibodas": "36.71.09",
    "Neglasari": "36.71.10", "Pinang": "36.71.11", "Karangtengah": "36.71.12",
    "Larangan": "36.71.13",
}
# Official order within each kecamatan: its code is the position, from 1001.
_OFFICIAL_ORDER: dict[str, tuple[str, ...]] = {
    "Tangerang": ("Sukaarum", "Sukaasih", "Tanah Tinggi", "Buaran Indah", "Cikokol",
                  "Kelapa Indah", "Sukasari", "Babakan"),  # Sukaarum: officially Sukarasa
    "Jatiuwung": ("Keroncong", "Jatake", "Pasir Jaya", "Gandasari", "Manis Jaya", "Alam Jaya"),
    "Batuceper": ("Batuceper", "Batujaya", "Poris Gaga", "Poris Gaga Baru", "Kebon Besar",
                  "Batusari", "Poris Jaya"),
    "Benda": ("Belendung", "Jurumudi", "Benda", "Pajang", "Jurumudi Baru"),
    "Cipondoh": ("Cipondoh", "Cipondoh Makmur", "Cipondoh Indah", "Gondrong", "Kenanga",
                 "Petir", "Ketapang", "Poris Plawad", "Poris Plawad Utara",
                 "Poris Plawad Indah"),
    "Ciledug": ("Paninggilan", "Sudimara Barat", "Sudimara Timur", "Tajur", "Parung Serab",
                "Sudimara Jaya", "Sudimara Selatan", "Paninggilan Utara"),
    "Karawaci": ("Karawaci", "Bojong Jaya", "Karawaci Baru", "Nusa Jaya", "Cimone",
                 "Cimone Jaya", "Pabuaran", "Sumur Pacing", "Bugel", "Margasari",
                 "Pabuaran Tumpeng", "Nambo Jaya", "Gerendeng", "Sukajadi", "Pasar Baru",
                 "Koang Jaya"),
    "Periuk": ("Periuk", "Gembor", "Gebang Raya", "Sangiang Jaya", "Periuk Jaya"),
    "Cibodas": ("Cibodas", "Cibodasari", "Cibodas Baru", "Panunggangan Barat", "Uwung Jaya",
                "Jatiuwung"),
    "Neglasari": ("Neglasari", "Karang Sari", "Selapajang Jaya", "Kedaung Wetan", "Mekarsari",
                  "Karang Anyar", "Kedaung Baru"),
    "Pinang": ("Pinang", "Sudimara Pinang", "Neroktog", "Kunciran", "Kunciran Indah",
               "Kunciran Jaya", "Cipete", "Pakojan", "Panunggangan", "Panunggangan Utara",
               "Panunggangan Timur"),  # Neroktog: officially Nerogtog
    "Karangtengah": ("Karang Tengah", "Karang Mulya", "Pondok Bahar", "Pondok Pucung",
                     "Karang Timur", "Pedurenan", "Parung Jaya"),  # Pedurenan: Padurenan
    "Larangan": ("Larangan Utara", "Larangan Selatan", "Cipadu", "Kereo", "Larangan Indah",
                 "Gaga", "Cipadu Jaya", "Kereo Selatan"),  # Kereo: officially Kreo
}
# What shops choose from: each kecamatan's kelurahan in alphabetical order.
KELURAHAN_BY_KECAMATAN: dict[str, tuple[str, ...]] = {
    kecamatan: tuple(sorted(names)) for kecamatan, names in sorted(_OFFICIAL_ORDER.items())}
KECAMATAN: tuple[str, ...] = tuple(KELURAHAN_BY_KECAMATAN)
KELURAHAN_CODES: dict[tuple[str, str], str] = {
    (kecamatan, kelurahan): f"{KECAMATAN_CODES[kecamatan]}.{1001 + position}"
    for kecamatan, names in _OFFICIAL_ORDER.items()
    for position, kelurahan in enumerate(names)
}
