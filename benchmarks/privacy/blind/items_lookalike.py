"""Look-alike request texts: nothing personal or secret, but numbers, names, dates and URLs
that resemble private data. A gateway that keeps these local loses the remote models for
ordinary work."""

from __future__ import annotations

from items import Item, L

ITEMS: list[Item] = [
    # --- book, product and trade codes ----------------------------------------------------
    L("isbn_ean", "en", "Is ISBN <<isbn13>> the hardcover or the paperback edition?"),
    L("isbn_ean", "en", "Convert ISBN-10 <<isbn10>> to ISBN-13 and show the check digit math."),
    L(
        "isbn_ean",
        "de",
        "Der EAN-Code auf der Packung ist <<ean13:40>>, welche Prüfziffer "
        "hat er und wie rechnet man sie?",
    ),
    L("isbn_ean", "ja", "このJANコード<<ean13:49>>の商品は何ですか？"),
    L(
        "isbn_ean",
        "fr",
        "Le livre a l'ISBN <<isbn13|nosep>> - fais-moi une fiche de lecture de ce roman.",
    ),
    L(
        "isbn_ean",
        "en",
        "inventory.csv:\nsku,ean,qty\nMUG-BLU,<<ean13:50>>,40\nMUG-RED,"
        "<<ean13:50>>,12\nTEE-L,<<ean13:50>>,7\nWhich item is low on stock?",
    ),
    L(
        "isbn_ean",
        "en",
        "The Apple ISIN is US0378331005 - explain what each part of an ISIN means.",
    ),
    L(
        "isbn_ean",
        "de",
        "Was ist die ISIN <<isin:DE>> für ein Papier-Typ, und wie ist die Prüfziffer aufgebaut?",
    ),
    L(
        "product_code",
        "en",
        "Part number 6ES7 214-1AG40-0XB0 - is that the S7-1200 CPU with relay outputs?",
    ),
    L("product_code", "en", "Compare the Samsung SM-S928B and SM-S928U: which bands differ?"),
    L(
        "product_code",
        "de",
        "Artikelnummer 4711-0815-22: bitte eine Produktbeschreibung für "
        "den Onlineshop schreiben (Edelstahl-Schneebesen, 30 cm).",
    ),
    L(
        "product_code",
        "es",
        "El código de producto ES-88213-AZ aparece agotado, redacta un aviso para los clientes.",
    ),
    L("product_code", "zh", "型号 RTX-4090-24G-OC 和 RTX-4080-16G 哪个更适合跑大模型？"),
    L(
        "product_code",
        "en",
        "Our VIN decoder shows 1HGCM82633A004352 - what model year does the 10th character say?",
    ),
    # --- company identifiers ----------------------------------------------------------------
    L(
        "company_number",
        "de",
        "Impressum: Müller Maschinenbau GmbH, Amtsgericht Stuttgart HRB "
        "<<digits:6>>, USt-IdNr. <<company_id:de.vat>>. Ist das Impressum vollständig?",
    ),
    L(
        "company_number",
        "fr",
        "SAS Boulangerie du Port, capital 10 000 €, RCS Brest "
        "<<company_id:fr.siren>>, SIRET <<company_id:fr.siret>>, TVA <<company_id:fr.tva>>. "
        "Rédige les mentions légales.",
    ),
    L(
        "company_number",
        "es",
        "Facturar a Construcciones Levante S.L., CIF <<company_id:es.cif>>"
        ", C/ Colón 22, Valencia. ¿Qué falta en la factura?",
    ),
    L(
        "company_number",
        "it",
        "Fornitore: Tessuti Comaschi S.r.l., P.IVA <<company_id:it.iva>>"
        ". Scrivi la PEC per sollecitare la consegna.",
    ),
    L(
        "company_number",
        "pt",
        "A empresa Padaria Pão Quente Ltda, CNPJ <<company_id:br.cnpj>>, "
        "precisa de um modelo de nota de cobrança.",
    ),
    L(
        "company_number",
        "nl",
        "Bakkerij Van Dijk B.V., KvK <<digits:8>>, btw "
        "<<company_id:nl.btw>>: maak een offerte-sjabloon.",
    ),
    L(
        "company_number",
        "pl",
        "Dane firmy: Stolarnia Dąb sp. z o.o., NIP <<company_id:pl.nip>>, "
        "REGON <<company_id:pl.regon>>. Napisz wezwanie do zapłaty.",
    ),
    L(
        "company_number",
        "sv",
        "Snickeri Nord AB, org.nr <<company_id:se.orgnr>> - skriv en offert för ett nytt kök.",
    ),
    L(
        "company_number",
        "zh",
        "公司名称：深圳星河科技有限公司，统一社会信用代码"
        "<<company_id:cn.uscc>>，帮我写一份采购合同。",
    ),
    L(
        "company_number",
        "ja",
        "株式会社さくら工業（法人番号<<company_id:jp.cn|nosep>>）宛ての見積書を作成してください。",
    ),
    L(
        "company_number",
        "ko",
        "사업자등록번호 <<company_id:kr.brn>> (주)한빛소프트 앞으로 세금"
        "계산서 발행 안내문을 써 주세요.",
    ),
    L(
        "company_number",
        "en",
        "Vendor: Sunrise Textiles Pvt Ltd, GSTIN <<company_id:in_.gstin>>. "
        "Draft a purchase order for 500 shirts.",
    ),
    L(
        "company_number",
        "ru",
        "ООО «Северный ветер», ИНН <<company_id:ru.inn>>, ОГРН "
        "<<company_id:ru.ogrn>> - составь договор поставки.",
    ),
    L(
        "company_number",
        "tr",
        "Firma: Ege Tekstil A.Ş., vergi no <<company_id:tr.vkn>>. Fatura "
        "itirazı için bir dilekçe yaz.",
    ),
    L(
        "company_number",
        "en",
        "Acme Widgets Ltd, VAT reg. GB<<company_id:gb.vat|nosep>>, company "
        "no. 08<<digits:6>>. Draft the invoice footer.",
    ),
    L(
        "company_number",
        "en",
        "Our ABN is <<company_id:au.abn>> (Koala Cafe Pty Ltd) - what "
        "goes on a tax invoice under $1,000?",
    ),
    L(
        "company_number",
        "de",
        "Lieferant: Alpenkäse AG, UID <<company_id:ch.uid>>. Schreib eine Mahnung.",
    ),
    L(
        "company_number",
        "en",
        "Riverside Food Bank, Inc. is a 501(c)(3), EIN "
        "<<company_id:us.ein>>. Write a donation receipt template.",
    ),
    L(
        "company_number",
        "da",
        "Bageriet Kronen ApS, CVR <<company_id:dk.cvr>> - skriv en faktura-skabelon.",
    ),
    # --- public and company phone numbers, addresses and mailboxes ---------------------------
    L(
        "company_phone",
        "en",
        "Apple Support's US number is 1-800-275-2273 - is it toll free and what are the hours?",
    ),
    L(
        "company_phone",
        "en",
        "Our customer hotline is 0800 123 4567, free from UK landlines. "
        "Write the footer for the newsletter.",
    ),
    L(
        "company_phone",
        "de",
        "Die Service-Hotline der Deutschen Bahn ist 030 2970. Wie viel "
        "kostet der Anruf aus dem Festnetz?",
    ),
    L("company_phone", "fr", "Le numéro de la SNCF c'est le 3635, c'est surtaxé ?"),
    L(
        "company_phone",
        "es",
        "El teléfono de atención al cliente de Movistar es el 1004, ¿es gratuito desde un móvil?",
    ),
    L(
        "company_phone",
        "it",
        "Il numero verde di Trenitalia è 800 89 20 21: scrivi un avviso per i passeggeri.",
    ),
    L("company_phone", "zh", "工商银行客服热线95588可以办理挂失吗？"),
    L(
        "company_phone",
        "ja",
        "お問い合わせはフリーダイヤル0120-123-456（平日9時〜18時）までお願い"
        "します、という文を英訳して。",
    ),
    L("company_phone", "ko", "고객센터 1588-3366 운영 시간 안내 문구를 작성해 주세요."),
    L(
        "company_phone",
        "en",
        "In emergencies dial 911 in the US, 112 in the EU and 999 in the UK. Make a wallet card.",
    ),
    L(
        "company_phone",
        "pt",
        "O SAC da empresa é 0800 727 0101 - escreve um rodapé para o e-mail de atendimento.",
    ),
    L(
        "public_address",
        "en",
        "How far is 1600 Pennsylvania Avenue NW, Washington, DC 20500 from Union Station on foot?",
    ),
    L(
        "public_address",
        "de",
        "Wie komme ich zum Reichstag, Platz der Republik 1, 11011 Berlin, vom Hauptbahnhof?",
    ),
    L(
        "public_address",
        "fr",
        "Quels sont les horaires de la Tour Eiffel, Champ de Mars, 5 "
        "Avenue Anatole France, 75007 Paris ?",
    ),
    L(
        "public_address",
        "en",
        "Write a short story set at 221B Baker Street where Holmes meets a time traveller.",
    ),
    L("public_address", "zh", "故宫博物院的地址是北京市东城区景山前街4号，周一开放吗？"),
    L(
        "public_address",
        "nl",
        "Het Anne Frank Huis ligt aan de Westermarkt 20 in Amsterdam. "
        "Plan een wandeling van daar naar het Rijksmuseum.",
    ),
    L(
        "public_address",
        "es",
        "¿Qué líneas de metro paran cerca del Museo del Prado, Calle de "
        "Ruiz de Alarcón 23, Madrid?",
    ),
    L("company_email", "en", "Our form sends to noreply@example.com - why do replies bounce?"),
    L(
        "company_email",
        "en",
        "Add a footer: 'Questions? support@northwind-traders.com or sales@northwind-traders.com'.",
    ),
    L(
        "company_email",
        "de",
        "Schreib eine Pressemitteilung; Kontakt: presse@stadtwerke-beispiel.de, Durchwahl -200.",
    ),
    L(
        "company_email",
        "en",
        "Write a regex that matches emails like first.last@example.org but not @localhost.",
    ),
    # --- logistics and commerce references ---------------------------------------------------
    L(
        "tracking",
        "en",
        "UPS tracking <<ups_tracking>> has said 'label created' for four days. "
        "Draft a message to the seller.",
    ),
    L(
        "tracking",
        "de",
        "DHL-Sendungsnummer 00340434<<digits:12>>, das Paket hängt im "
        "Paketzentrum fest. Was kann ich tun?",
    ),
    L("tracking", "fr", "Mon colis Colissimo 6A<<digits:11>> est bloqué en douane, c'est normal ?"),
    L("tracking", "zh", "顺丰单号SF<<digits:13>>显示已签收，但我没收到，怎么投诉？"),
    L(
        "tracking",
        "en",
        "USPS says 9400 1<<digits:3>> <<digits:4>> <<digits:4>> <<digits:4>> "
        "<<digits:2>> was delivered to the mailroom. Who do I ask?",
    ),
    L(
        "invoice",
        "en",
        "Invoice INV-2026-004512 for $1,249.00 is 30 days overdue. Write a firm "
        "but friendly reminder.",
    ),
    L(
        "invoice",
        "de",
        "Rechnung Nr. 2026-<<digits:6>> vom 02.12.2026 über 3.480,00 €: "
        "formuliere eine Zahlungserinnerung.",
    ),
    L(
        "invoice",
        "fr",
        "Facture n° FA-2026-11-<<digits:4>>, montant 820 € HT. Calcule la TVA à 20 %.",
    ),
    L(
        "invoice",
        "pl",
        "Faktura FV/2026/12/<<digits:4>> na kwotę 12 300 zł brutto - ile to netto przy 23% VAT?",
    ),
    L(
        "invoice",
        "sv",
        "Fakturan har OCR-nummer <<ocr_reference>> och förfaller 2027-01-15. Hur "
        "betalar jag via bankgirot?",
    ),
    L("invoice", "pt", "Explica como validar a chave de acesso da NF-e <<nfe_key>>."),
    L(
        "invoice",
        "en",
        "Amazon order #113-<<digits:7>>-<<digits:7>> arrived damaged. Write a return request.",
    ),
    L(
        "invoice",
        "es",
        "El pedido n.º 2026-ES-<<digits:6>> llegó incompleto. Redacta la reclamación a la tienda.",
    ),
    L(
        "invoice",
        "ja",
        "注文番号 <<digits:3>>-<<digits:7>>-<<digits:7>> の商品が届きません。"
        "問い合わせ文を作ってください。",
    ),
    # --- versions, hashes, ids in technical text -----------------------------------------------
    L(
        "version",
        "en",
        "We upgraded Oracle from 19.3.0.0 to 19.21.0.0 and the listener fails. What changed?",
    ),
    L(
        "version",
        "en",
        "Windows 10 build 10.0.19045.3803 vs 10.0.22631.2861: which one got the "
        "fix for the print spooler bug?",
    ),
    L(
        "version",
        "de",
        "Nach dem Update von 2.14.1 auf 2.15.0 startet der Dienst nicht mehr. "
        "Hier der Log-Auszug: 'ERROR 0x80070005'.",
    ),
    L(
        "version",
        "en",
        "pip says: requires numpy<2.0.0,>=1.26.4 but you have numpy 2.1.3. How do I pin it?",
    ),
    L("version", "zh", "Chrome 131.0.6778.86 和 131.0.6778.109 有什么区别？"),
    L(
        "hash",
        "en",
        "The fix landed in commit <<hexstr:40>>, can you explain git bisect to "
        "find when the bug came back?",
    ),
    L(
        "hash",
        "en",
        "sha256sum gives <<hexstr:64>> but the release page lists another hash. "
        "Is the download corrupt?",
    ),
    L(
        "hash",
        "en",
        "FROM python:3.12-slim@sha256:<<hexstr:64>>\nWhy pin by digest instead of tag?",
    ),
    L("hash", "fr", "Le MD5 du fichier est <<hexstr:32>>, comment le vérifier sous Windows ?"),
    L(
        "uuid",
        "en",
        "Error in request <<uuid4>>: upstream timed out after 30s. What does that mean?",
    ),
    L(
        "uuid",
        "de",
        "Die Bestellung hat die ID <<uuid4>>; wie indexiere ich UUID-Spalten in "
        "PostgreSQL am besten?",
    ),
    L(
        "uuid",
        "en",
        "Explain these log lines:\n2026-12-07T10:14:03Z trace=<<uuid4>> status=502 "
        "upstream=10.0.4.21:8080 took=30012ms\n2026-12-07T10:14:05Z trace=<<uuid4>> status=200",
    ),
    L("ip", "en", "Set the router's DNS to 8.8.8.8 and 1.1.1.1 - step by step for a TP-Link."),
    L(
        "ip",
        "en",
        "nginx: upstream backend { server 10.0.0.12:8080; server 10.0.0.13:8080; } "
        "how do I add health checks?",
    ),
    L(
        "ip",
        "de",
        "Wie konfiguriere ich in der FritzBox, dass 192.168.178.20 immer dieselbe Adresse bekommt?",
    ),
    L("ip", "en", "Explain CIDR: how many hosts are in 203.0.113.0/24 and 2001:db8::/32?"),
    L(
        "code_url",
        "en",
        "Why does this hang?\n```python\nimport requests\nr = requests.get("
        "'https://api.github.com/repos/psf/requests/releases', timeout=None)\n```",
    ),
    L(
        "code_url",
        "en",
        "Fix my curl: curl -X POST https://httpbin.org/post -H 'Content-Type: "
        "application/json' -d '{\"a\": 1}'",
    ),
    L(
        "code_url",
        "de",
        "Warum gibt fetch('https://jsonplaceholder.typicode.com/todos/1') in "
        "Safari einen CORS-Fehler?",
    ),
    L(
        "code_url",
        "en",
        "```yaml\nenv:\n  - name: DB_PASSWORD\n    valueFrom:\n      "
        "secretKeyRef:\n        name: db-secret\n        key: password\n```\nIs this the right "
        "way to mount a secret?",
    ),
    L(
        "code_url",
        "en",
        "In settings.py I have PASSWORD = os.environ['DB_PASSWORD'] - is "
        "reading it from the environment safe enough?",
    ),
    L(
        "code_url",
        "en",
        "docker-compose: DATABASE_URL: postgres://${DB_USER}:${DB_PASS}@db:5432/"
        "app - why aren't the variables expanded?",
    ),
    L(
        "code_url",
        "es",
        "¿Cómo hago que mi API en http://localhost:3000/api/v1/usuarios devuelva JSON paginado?",
    ),
    L(
        "code_url",
        "en",
        "What does the password field in this login form HTML need? "
        '<input type="password" name="password" autocomplete="current-password">',
    ),
    L(
        "code_url",
        "ko",
        "이 코드에서 API_KEY = os.getenv('API_KEY') 가 None 이 나오는 이유가 뭘까요?",
    ),
    # --- numbers in arithmetic, science and finance -----------------------------------------
    L(
        "arithmetic",
        "en",
        "What is <<digits:11>> × 37 + <<digits:9>>? Show the long multiplication.",
    ),
    L("arithmetic", "en", "Is <<digits:12>> divisible by 7? Explain the trick."),
    L(
        "arithmetic",
        "de",
        "Rechne <<digits:10>> geteilt durch 64 und runde auf zwei Nachkommastellen.",
    ),
    L("arithmetic", "fr", "Calcule <<digits:9>> + <<digits:9>> - <<digits:8>>, étape par étape."),
    L("arithmetic", "zh", "<<digits:13>> 乘以 25 等于多少？"),
    L("arithmetic", "ru", "Сколько будет <<digits:11>> умножить на 3?"),
    L("arithmetic", "en", "Convert 0x<<hexstr:12>> to decimal."),
    L(
        "arithmetic",
        "en",
        "Compound interest: $25,000 at 4.35% for 18 years, monthly "
        "compounding - what's the final amount?",
    ),
    L(
        "arithmetic",
        "en",
        "The speed of light is 299792458 m/s and the Moon is 384400 km away. "
        "How long does light take?",
    ),
    L(
        "arithmetic",
        "es",
        "La población de México en 2020 era 126014024 personas; ¿cuántas por "
        "km² si la superficie es 1964375?",
    ),
    L("arithmetic", "ja", "1234567890123を素因数分解して。"),
    L("arithmetic", "en", "Unix time 1765105200 - which date and time is that in UTC?"),
    # --- dates that are not birthdates, famous people, general health ---------------------------
    L(
        "date",
        "en",
        "The contract ends on 31 March 2027. How many business days remain from today?",
    ),
    L(
        "date",
        "de",
        "Der Mauerfall war am 9. November 1989. Schreib einen kurzen Text für eine Schulstunde.",
    ),
    L(
        "date",
        "fr",
        "La prise de la Bastille, le 14 juillet 1789 : résume les causes en cinq points.",
    ),
    L(
        "date",
        "es",
        "Reunión del comité el 15/01/2027 a las 10:00 en la sala B: redacta la convocatoria.",
    ),
    L("date", "pl", "Termin złożenia PIT mija 30 kwietnia 2027 - przypomnij o tym w newsletterze."),
    L(
        "historical_person",
        "en",
        "Abraham Lincoln was born February 12, 1809, in Hodgenville, "
        "Kentucky. Summarize his early life.",
    ),
    L(
        "historical_person",
        "fr",
        "Marie Curie, née le 7 novembre 1867 à Varsovie : écris une "
        "biographie pour des enfants de 10 ans.",
    ),
    L(
        "historical_person",
        "de",
        "Johann Wolfgang von Goethe, geboren am 28. August 1749 in "
        "Frankfurt am Main - welche Werke schrieb er vor 1775?",
    ),
    L(
        "historical_person",
        "it",
        "Leonardo da Vinci nacque il 15 aprile 1452 ad Anchiano: riassumi la sua formazione.",
    ),
    L(
        "historical_person",
        "es",
        "Frida Kahlo nació el 6 de julio de 1907 en Coyoacán. Escribe una reseña de su obra.",
    ),
    L("historical_person", "zh", "孙中山1866年11月12日出生于广东香山，请概述他的生平。"),
    L("historical_person", "ja", "夏目漱石（1867年2月9日生まれ）の代表作を三つ紹介してください。"),
    L(
        "historical_person",
        "ru",
        "Александр Пушкин родился 6 июня 1799 года в Москве. Расскажи о его лицейских годах.",
    ),
    L(
        "historical_person",
        "pl",
        "Maria Skłodowska-Curie urodziła się 7 listopada 1867 roku. "
        "Napisz wypracowanie o jej odkryciach.",
    ),
    L(
        "historical_person",
        "tr",
        "Mustafa Kemal Atatürk 1881'de Selanik'te doğdu. Hayatını kısaca anlat.",
    ),
    L(
        "historical_person",
        "sv",
        "Astrid Lindgren föddes den 14 november 1907 i Vimmerby. Skriv en kort presentation.",
    ),
    L("historical_person", "ar", "ولد ابن خلدون في تونس سنة 1332. لخص أفكاره في المقدمة."),
    L(
        "historical_person",
        "hi",
        "महात्मा गांधी का जन्म 2 अक्टूबर 1869 को पोरबंदर में हुआ था। उनके बचपन पर निबंध लिखो।",
    ),
    L(
        "historical_person",
        "ko",
        "세종대왕은 1397년 5월 15일에 태어났다. 한글 창제 과정을 설명해 줘.",
    ),
    L(
        "historical_person",
        "pt",
        "Tiradentes foi executado em 21 de abril de 1792 no Rio de "
        "Janeiro. Resuma a Inconfidência Mineira.",
    ),
    L(
        "historical_person",
        "nl",
        "Vincent van Gogh werd geboren op 30 maart 1853 in Zundert. "
        "Welke schilderijen maakte hij in Arles?",
    ),
    L(
        "general_health",
        "en",
        "What are the early symptoms of Lyme disease and when should someone see a doctor?",
    ),
    L(
        "general_health",
        "de",
        "Wie hoch ist die übliche Tageshöchstdosis von Ibuprofen für Erwachsene?",
    ),
    L(
        "general_health",
        "es",
        "¿Qué diferencia hay entre la diabetes tipo 1 y la tipo 2? "
        "Explícalo para un trabajo escolar.",
    ),
    L("general_health", "fr", "Quels sont les effets secondaires fréquents des statines ?"),
    L("general_health", "zh", "高血压患者日常饮食应该注意什么？"),
    # --- look-alikes in other request fields ---------------------------------------------------
    L(
        "uuid",
        "en",
        "Summarize the incident report.",
        field="metadata",
        metadata='{"trace_id": "<<uuid4>>", "env": "prod-eu-west-1", "build": "2026.12.07.3"}',
    ),
    L("product_code", "en", "Classify this ticket.", field="user_field", user="svc-helpdesk-bot"),
    L(
        "company_phone",
        "en",
        "A customer asks how to reach us.",
        field="system_then_user",
        system="You are the support bot of Northwind Traders. Public hotline: +1 800 555 0199. "
        "Support email: help@northwind-traders.com. Never promise refunds.",
    ),
    L(
        "invoice",
        "en",
        "Check the order status.",
        field="tool_args",
        tool="get_order",
        args='{"order_id": "SO-2026-<<digits:6>>", "warehouse": "DE-MUC-2"}',
    ),
    L(
        "tracking",
        "en",
        "Where is the parcel?",
        field="tool_result",
        result='{"carrier": "UPS", "tracking": "<<ups_tracking>>", "status": "in transit", '
        '"eta": "2026-12-10"}',
    ),
    L(
        "version",
        "en",
        "Which of these dependencies is outdated?",
        field="parts",
        parts=["requirements.txt:", "fastapi==0.115.6\nuvicorn==0.32.1\npydantic==2.10.3"],
    ),
    L(
        "arithmetic",
        "en",
        None,
        field="split",
        turns=[
            "Take the number <<digits:10>>.",
            "Now add <<digits:10>> to it and tell me the sum.",
        ],
    ),
    L(
        "date",
        "en",
        "And what happened the day after?",
        field="history",
        history=["What happened on 20 July 1969?", "Apollo 11 landed on the Moon..."],
    ),
]
