"""Kota Tangerang: its 13 kecamatan and their 104 kelurahan.

Shops choose from these lists rather than typing, so reports per kecamatan and
kelurahan add up without spelling variants.
"""

KELURAHAN_BY_KECAMATAN: dict[str, tuple[str, ...]] = {
    "Batuceper": ("Batuceper", "Batujaya", "Batusari", "Kebon Besar", "Poris Gaga",
                  "Poris Gaga Baru", "Poris Jaya"),
    "Benda": ("Belendung", "Benda", "Jurumudi", "Jurumudi Baru", "Pajang"),
    "Cibodas": ("Cibodas", "Cibodas Baru", "Cibodasari", "Jatiuwung", "Panunggangan Barat",
                "Uwung Jaya"),
    "Ciledug": ("Paninggilan", "Paninggilan Utara", "Parung Serab", "Sudimara Barat",
                "Sudimara Jaya", "Sudimara Selatan", "Sudimara Timur", "Tajur"),
    "Cipondoh": ("Cipondoh", "Cipondoh Indah", "Cipondoh Makmur", "Gondrong", "Kenanga",
                 "Ketapang", "Petir", "Poris Plawad", "Poris Plawad Indah", "Poris Plawad Utara"),
    "Jatiuwung": ("Alam Jaya", "Gandasari", "Jatake", "Keroncong", "Manis Jaya", "Pasir Jaya"),
    "Karangtengah": ("Karang Mulya", "Karang Tengah", "Karang Timur", "Parung Jaya",
                     "Pedurenan", "Pondok Bahar", "Pondok Pucung"),
    "Karawaci": ("Bojong Jaya", "Bugel", "Cimone", "Cimone Jaya", "Gerendeng", "Karawaci",
                 "Karawaci Baru", "Koang Jaya", "Margasari", "Nambo Jaya", "Nusa Jaya",
                 "Pabuaran", "Pabuaran Tumpeng", "Pasar Baru", "Sukajadi", "Sumur Pacing"),
    "Larangan": ("Cipadu", "Cipadu Jaya", "Gaga", "Kereo", "Kereo Selatan", "Larangan Indah",
                 "Larangan Selatan", "Larangan Utara"),
    "Neglasari": ("Karang Anyar", "Karang Sari", "Kedaung Baru", "Kedaung Wetan", "Mekarsari",
                  "Neglasari", "Selapajang Jaya"),
    "Periuk": ("Gebang Raya", "Gembor", "Periuk", "Periuk Jaya", "Sangiang Jaya"),
    "Pinang": ("Cipete", "Kunciran", "Kunciran Indah", "Kunciran Jaya", "Neroktog", "Pakojan",
               "Panunggangan", "Panunggangan Timur", "Panunggangan Utara", "Pinang",
               "Sudimara Pinang"),
    "Tangerang": ("Babakan", "Buaran Indah", "Cikokol", "Kelapa Indah", "Sukaarum", "Sukasari",
                  "Sukaasih", "Tanah Tinggi"),
}

KECAMATAN: tuple[str, ...] = tuple(KELURAHAN_BY_KECAMATAN)
