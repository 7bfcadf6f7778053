"""Words for the demo catalogue: what Tangerang's UMKM actually sell."""

# top category -> (slug, [(leaf name, leaf slug, price range in rupiah, [(product base, variations)])])
CATEGORIES = [
    ("Makanan", "makanan", [
        ("Keripik & Camilan", "keripik-camilan", (8_000, 45_000), [
            ("Keripik Pedas", ["Level 3", "Level 5", "Daun Jeruk", "Original"]),
            ("Keripik Singkong Balado", ["250 g", "500 g", "1 kg"]),
            ("Keripik Pisang", ["Cokelat", "Manis", "Asin Gurih"]),
            ("Keripik Tempe", ["Sagu", "Pedas Manis", "Original"]),
            ("Makaroni Pedas", ["Bantat", "Kering", "Level 10"]),
            ("Rempeyek Kacang", ["Teri", "Kacang Hijau", "Kacang Tanah"]),
            ("Basreng", ["Pedas Daun Jeruk", "Original", "Stik"]),
            ("Kerupuk Kulit", ["Sapi", "Ikan", "Udang"]),
        ]),
        ("Kue & Roti", "kue-roti", (15_000, 120_000), [
            ("Dodol Betawi", ["Ketan Hitam", "Durian", "Original"]),
            ("Kue Kering Nastar", ["Toples 500 g", "Toples 250 g"]),
            ("Kue Lapis Legit", ["Loyang 20 cm", "Potong"]),
            ("Roti Gambang", ["Isi 5", "Isi 10"]),
            ("Bolu Pandan", ["Loyang", "Potong"]),
            ("Kue Akar Kelapa", ["Toples", "Pouch"]),
        ]),
        ("Sambal & Bumbu", "sambal-bumbu", (12_000, 60_000), [
            ("Sambal Bawang", ["Botol 150 ml", "Botol 250 ml", "Extra Pedas"]),
            ("Sambal Cumi", ["Botol 200 g", "Pedas"]),
            ("Sambal Terasi", ["Matang", "Mentah"]),
            ("Bumbu Rendang", ["Instan", "Pasta"]),
            ("Sambal Roa", ["Botol 150 g", "Pedas Manis"]),
        ]),
        ("Makanan Beku", "makanan-beku", (25_000, 90_000), [
            ("Otak-Otak Bandeng", ["Isi 10", "Isi 20"]),
            ("Pempek Kapal Selam", ["Paket 5", "Paket 10"]),
            ("Siomay Ikan", ["Isi 15", "Isi 30"]),
            ("Dimsum Ayam", ["Isi 12", "Isi 24"]),
        ]),
    ]),
    ("Minuman", "minuman", [
        ("Kopi", "kopi", (25_000, 150_000), [
            ("Kopi Robusta", ["Bubuk 250 g", "Biji 500 g", "Biji 1 kg"]),
            ("Kopi Arabika Gayo", ["Bubuk 200 g", "Biji 250 g"]),
            ("Kopi Susu Gula Aren", ["Botol 1 L", "Botol 250 ml"]),
            ("Kopi Luwak Liar", ["Biji 100 g"]),
            ("Kopi Jahe", ["Sachet isi 10", "Toples"]),
        ]),
        ("Teh & Herbal", "teh-herbal", (15_000, 70_000), [
            ("Teh Telang", ["Kering 50 g", "Celup"]),
            ("Teh Rosella", ["Kering 50 g", "Celup isi 20"]),
            ("Wedang Uwuh", ["Paket 5", "Paket 10"]),
        ]),
        ("Minuman Tradisional", "minuman-tradisional", (10_000, 45_000), [
            ("Bir Pletok", ["Botol 250 ml", "Botol 1 L", "Serbuk"]),
            ("Sirup Pala", ["Botol 600 ml"]),
            ("Es Selendang Mayang", ["Paket Beku"]),
        ]),
    ]),
    ("Fesyen", "fesyen", [
        ("Batik", "batik", (120_000, 650_000), [
            ("Batik Tulis Tangerang", ["Motif Benteng", "Motif Cisadane", "Motif Kembang Gula"]),
            ("Batik Cap", ["Kemeja Pria", "Blus Wanita", "Kain 2 m"]),
            ("Kemeja Batik", ["Lengan Pendek", "Lengan Panjang"]),
            ("Selendang Batik", ["Sutra", "Katun"]),
        ]),
        ("Pakaian Muslim", "pakaian-muslim", (60_000, 350_000), [
            ("Gamis Katun", ["M", "L", "XL"]),
            ("Kerudung Segi Empat", ["Voal", "Paris"]),
            ("Koko Bordir", ["M", "L", "XL"]),
        ]),
        ("Tas & Dompet", "tas-dompet", (35_000, 400_000), [
            ("Tas Anyaman Pandan", ["Kecil", "Sedang", "Besar"]),
            ("Dompet Kulit", ["Pria", "Wanita"]),
            ("Tas Tenun", ["Selempang", "Jinjing"]),
        ]),
    ]),
    ("Kerajinan", "kerajinan", [
        ("Bambu & Rotan", "bambu-rotan", (25_000, 750_000), [
            ("Kerajinan Bambu", ["Tempat Pensil", "Lampu Hias", "Rak Dinding"]),
            ("Kursi Rotan", ["Santai", "Teras"]),
            ("Keranjang Rotan", ["Kecil", "Besar", "Tutup"]),
        ]),
        ("Anyaman", "anyaman", (20_000, 250_000), [
            ("Tikar Pandan", ["1 x 2 m", "2 x 3 m"]),
            ("Topi Anyaman", ["Pantai", "Koboi"]),
            ("Tatakan Gelas Anyaman", ["Isi 6"]),
        ]),
        ("Souvenir", "souvenir", (10_000, 150_000), [
            ("Miniatur Perahu Naga", ["Kecil", "Besar"]),
            ("Gantungan Kunci Tangerang", ["Akrilik", "Kayu"]),
            ("Wayang Golek Mini", ["Arjuna", "Semar"]),
        ]),
    ]),
    ("Kecantikan & Kesehatan", "kecantikan", [
        ("Sabun & Perawatan", "sabun-perawatan", (15_000, 95_000), [
            ("Sabun Sereh", ["Batang", "Cair"]),
            ("Lulur Bengkoang", ["Toples 200 g"]),
            ("Minyak Kemiri", ["Botol 60 ml"]),
        ]),
        ("Jamu", "jamu", (10_000, 60_000), [
            ("Jamu Kunyit Asam", ["Botol 250 ml", "Botol 1 L"]),
            ("Jamu Beras Kencur", ["Botol 250 ml", "Serbuk"]),
            ("Temulawak Instan", ["Toples 250 g"]),
        ]),
    ]),
    ("Pertanian", "pertanian", [
        ("Madu", "madu", (45_000, 220_000), [
            ("Madu Hutan", ["250 ml", "500 ml", "1 kg"]),
            ("Madu Kelulut", ["150 ml", "300 ml"]),
        ]),
        ("Beras & Hasil Tani", "hasil-tani", (15_000, 160_000), [
            ("Beras Pandan Wangi", ["5 kg", "10 kg"]),
            ("Gula Aren Cair", ["Botol 500 ml", "Jeriken 1 L"]),
            ("Jahe Merah", ["Segar 1 kg", "Kering 250 g"]),
        ]),
        ("Tanaman Hias", "tanaman-hias", (20_000, 300_000), [
            ("Tanaman Lidah Mertua", ["Pot Kecil", "Pot Sedang"]),
            ("Anggrek Bulan", ["Pot Tanah Liat", "Pot Plastik"]),
            ("Bonsai Beringin", ["Mini", "Sedang"]),
        ]),
    ]),
]

SHOP_WORDS = ["Dapur", "Warung", "Rumah", "Sentra", "Galeri", "Kedai", "Saung", "Pondok", "Griya"]
SHOP_OWNERS = ["Bu Sri", "Pak Darto", "Mak Ijah", "Teh Nining", "Bang Jali", "Ci Mei", "Uni Lusi",
               "Mas Yoga", "Bu Wati", "Pak Haji Udin", "Mbak Rina", "Kang Asep", "Ibu Ratna",
               "Om Sutan", "Bu Endang", "Pak Bambang", "Neng Ayu", "Mpok Ela", "Bu Yanti",
               "Pak Ahmad", "Bu Kartini", "Koh Acong", "Mbak Dewi", "Pak Slamet"]
SHOP_THEMES = ["Cisadane", "Benteng", "Pasar Lama", "Situ Cipondoh", "Kali Angke", "Pintu Air",
               "Sepuluh", "Al-Azhom", "Bendungan", "Kampung Bekelir", "Babakan", "Kota Tua"]
COOPERATIVES = ["Koperasi Warga", "Koperasi Wanita Sejahtera", "Koperasi Pemuda Kreatif",
                "Koperasi Tani Makmur", "Koperasi Produsen Mandiri", "Koperasi Serba Usaha"]
DESCRIPTIONS = [
    "Dibuat setiap hari oleh {owner} di {kelurahan}, {kecamatan}. Tanpa pengawet.",
    "Produk unggulan {shop} dari Kecamatan {kecamatan}. Cocok untuk oleh-oleh khas Tangerang.",
    "Bahan pilihan dari petani dan perajin sekitar {kelurahan}. Dikemas rapi dan higienis.",
    "Resep turun-temurun keluarga. Sudah bersertifikat halal dan PIRT.",
    "Dikerjakan dengan tangan oleh perajin lokal {kecamatan}. Setiap barang sedikit berbeda.",
]
