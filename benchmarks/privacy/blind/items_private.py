"""Private request texts for the blind corpus, hand-written per language.

`<<fn:arg|filter>>` is filled by make_corpus.py from ids.py; `<<fn=name>>` keeps the value
under a name and `<<=name|filter>>` reuses it (for data split across messages).
"""

from __future__ import annotations

from items import Item, P

ITEMS: list[Item] = [
    # --- English (US, UK, CA, AU, IN) -------------------------------------------------
    P(
        "national_id",
        "en",
        "I'm filling out the W-4 for my new job. My SSN is <<us_ssn>>, "
        "which boxes should I tick if I file as single?",
    ),
    P(
        "national_id",
        "en",
        "can u double check the form, name Kevin O'Brien ssn <<us_ssn|nosep>> dob 7/22/1986",
    ),
    P(
        "national_id",
        "en",
        "Social Security number: <<us_ssn|space>>. Please draft a letter to "
        "the SSA asking why my benefits were reduced.",
    ),
    P(
        "national_id",
        "en",
        "My National Insurance number is <<uk_nino>> and HMRC says it "
        "doesn't match my payslip. What should I do?",
    ),
    P("national_id", "en", "My SIN is <<ca_sin>> - how do I fill in box 12 on the T4 slip?"),
    P(
        "tax_id",
        "en",
        "my TFN is <<au_tfn>> and my employer says the ATO rejected it, how do I fix that",
    ),
    P(
        "tax_id",
        "en",
        "Write a KYC cover note for my HDFC account. Aadhaar: <<in_aadhaar>>, "
        "PAN: <<in_pan>>, name Rohit Verma.",
    ),
    P("tax_id", "en", "My ITIN is <<us_itin>>. Can I claim the child tax credit for my son?"),
    P(
        "tax_id",
        "en",
        "Self assessment: my UTR is <<gb_utr>>, I missed the January deadline. "
        "Draft an appeal to HMRC.",
    ),
    P(
        "health",
        "en",
        "I was diagnosed with bipolar II in August and my psychiatrist put me on "
        "lamotrigine 100 mg. How do I tell my manager without losing my job?",
    ),
    P(
        "health",
        "en",
        "Patient: Oliver Hughes, NHS no. <<gb_nhs>>, referred for suspected type 1 "
        "diabetes. Summarise for the GP letter.",
    ),
    P(
        "health",
        "en",
        "My wife Rachel had a miscarriage at 11 weeks last Tuesday and she is not "
        "sleeping. What can I say to her?",
    ),
    P("phone", "en", "Text me at <<phone_national:US>> when you land, the shuttle won't wait."),
    P("phone", "en", "my cell is <<phone_digits:US>> pls add it to the reunion sheet"),
    P("phone", "en", "ring me on <<phone_national:GB>> after 6, it's about the flat"),
    P("phone", "en", "Contact for the babysitter: Grandma Joan, <<phone_resep:US:.>>"),
    P("phone", "en", "Mobile: <<phone_national:AU>> (that's my personal one, not the office)"),
    P(
        "address",
        "en",
        "Please send the replacement router to Emily Carter, 48 Willow Creek "
        "Drive, Apt 3B, Naperville, IL 60540.",
    ),
    P(
        "address",
        "en",
        "I live at 17 Rosebery Avenue, Flat 2, London EC1R 4SP with my partner "
        "Tom - write a complaint to the council about the bins.",
    ),
    P(
        "name_birthdate",
        "en",
        "Write a short birthday poem for my daughter Ava Thompson, born "
        "March 14, 2017 - she's turning ten.",
    ),
    P(
        "name_birthdate",
        "en",
        "Applicant: Daniel Okafor, DOB 02/11/1990, place of birth Lagos. "
        "Turn this into a one-paragraph bio for the visa application.",
    ),
    P(
        "credential",
        "en",
        "my gmail password is <<password>> and I still get locked out, what else could be wrong?",
    ),
    P(
        "credential",
        "en",
        "Why doesn't my app connect?\n```\nDATABASE_URL=postgres://app_user:"
        "<<password>>@10.0.3.14:5432/orders\nSTRIPE_SECRET_KEY=<<stripe_key>>\nDEBUG=false\n```",
    ),
    P(
        "credential",
        "en",
        "This is my ~/.aws/credentials, is the format right?\n[default]\n"
        "aws_access_key_id = <<aws_key_id>>\naws_secret_access_key = <<aws_secret>>\n",
    ),
    P(
        "credential",
        "en",
        "git clone https://<<github_token>>@github.com/acme-internal/payments"
        ".git fails with 403, why?",
    ),
    P(
        "credential",
        "en",
        "curl -H 'Authorization: Bearer <<jwt:maria.lopez@gmail.com>>' "
        "https://api.internal.acme.io/v2/me returns 401, is the token expired?",
    ),
    P("credential", "en", "Here's my deploy key, tell me why ssh rejects it:\n<<ssh_private_key>>"),
    P(
        "credential",
        "en",
        "the wifi at my place is network 'Henderson_5G' password "
        "<<password>> - put it on a card for guests",
    ),
    P(
        "card",
        "en",
        "Can you check this card number is typed right before I submit it: "
        "<<card:visa|g4>> exp 09/28 CVV 412",
    ),
    P("card", "en", "card <<card:mc>> exp 11/27 cvc 038 - why was it declined?"),
    P(
        "card",
        "en",
        "Amex <<card:amex|amex>>, name on card JOHN R SMITH, please fill the "
        "hotel's authorization form.",
    ),
    P(
        "bank",
        "en",
        "Set up direct deposit: routing number <<us_routing>>, checking account "
        "<<digits:10>>, account holder Marcus Reed.",
    ),
    P(
        "bank",
        "en",
        "pay the deposit to sort code 20-<<digits:2>>-<<digits:2>>, account "
        "4<<digits:7>>, name S. Patel",
    ),
    P(
        "passport",
        "en",
        "My passport number is <<passport_number:USA>>, expires 2031-05-02. Fill "
        "in the ESTA fields for me.",
    ),
    P(
        "passport",
        "en",
        "Please read my passport's MRZ and tell me my expiry date:\n"
        "<<mrz_lines:GBR:WALKER:SOPHIE:F>>",
    ),
    P(
        "ip",
        "en",
        "My ex keeps logging into my Netflix. The login history shows <<ipv4_public>>"
        ", which is her apartment's IP. Can I report that to the police?",
    ),
    P(
        "plate",
        "en",
        "A silver Honda Civic, plate 7KXM482, owned by my neighbour Greg Walsh keeps "
        "blocking my driveway. Draft a polite note to him.",
    ),
    P(
        "email",
        "en",
        "Forward the lease to my personal email, jessica.m.nguyen91@gmail.com, not the work one.",
    ),
    P(
        "address",
        "en",
        "Draft a reply confirming the pickup.",
        field="system_then_user",
        system="You are a courier assistant. Customer on file: Hannah Brooks, 2214 NE Alberta "
        "St, Portland, OR 97211, phone <<phone_national:US>>.",
    ),
    P(
        "health",
        "en",
        "Summarise the chart for the handover.",
        field="system_then_user",
        system="You are a clinic scribe. Current patient: Maria Lopez, DOB 04/12/1979, allergy "
        "penicillin, HIV positive since 2015, on Biktarvy.",
    ),
    P(
        "national_id",
        "en",
        "Create the customer record.",
        field="tool_args",
        tool="create_customer",
        args='{"name": "Laura Kim", "dob": "1988-02-11", "ssn": "<<us_ssn>>", "state": "NJ"}',
    ),
    P(
        "phone",
        "en",
        "Who is this customer?",
        field="tool_result",
        result='{"customer_id": 88123, "name": "Brian Hall", "mobile": "<<phone_intl:US>>", '
        '"tier": "gold"}',
    ),
    P(
        "email",
        "en",
        "Summarise today's tickets.",
        field="user_field",
        user="tyler.jackson.1987@yahoo.com",
    ),
    P(
        "phone",
        "en",
        "Write a follow-up SMS about the delivery window.",
        field="metadata",
        metadata='{"customer_phone": "<<phone_intl:GB>>", "order": "A-1182"}',
    ),
    P(
        "card",
        "en",
        None,
        field="split",
        turns=[
            "I'll give you my card in two parts so it's safer. First: <<card:visa=c1|head>>",
            "second part: <<=c1|tail>> - now tell me which bank issued it",
        ],
    ),
    P(
        "national_id",
        "en",
        None,
        field="split",
        turns=[
            "My social is <<us_ssn=s1|first3>>",
            "ok next part <<=s1|after3>>",
            "Is that a valid SSN format?",
        ],
    ),
    P(
        "credential",
        "en",
        "Rotate this key for me.",
        field="parts",
        parts=["here is the key from our .env:", "OPENAI_API_KEY=<<openai_key>>"],
    ),
    P(
        "credential",
        "en",
        "Post the release notes to the channel.",
        field="tool_args",
        tool="slack_post",
        args='{"token": "<<slack_token>>", "channel": "#releases"}',
    ),
    P(
        "name_birthdate",
        "en",
        "Thanks! Now make it rhyme.",
        field="history",
        history=[
            "Write a toast for my grandfather Harold Jenkins, born 30 June 1936 in Duluth, "
            "who turns ninety next summer.",
            "Here is a toast for Harold...",
        ],
    ),
    # --- German (DE, AT, CH) ----------------------------------------------------------
    P("tax_id", "de", "Meine Steuer-ID ist <<de_idnr>>, wo trage ich die in der Anlage N ein?"),
    P(
        "tax_id",
        "de",
        "Steuerliche Identifikationsnummer: <<de_idnr|grp:2,3,3,3>> - bitte in das "
        "Formular für den Arbeitgeber übernehmen.",
    ),
    P(
        "tax_id",
        "de",
        "Steuernummer <<de_stnr>>, Finanzamt München. Formuliere einen Einspruch "
        "gegen den Bescheid vom 3. November.",
    ),
    P(
        "phone",
        "de",
        "Ruf mich einfach unter <<phone_national:DE>> an, ich bin ab 17 Uhr zu Hause.",
    ),
    P("phone", "de", "Handy: <<phone_resep:DE:/>> (bitte nur WhatsApp, Anna)"),
    P("phone", "de", "meine nummer ist <<phone_intl:DE|nbsp>>, schreib mir wenn du da bist"),
    P(
        "address",
        "de",
        "Bitte schick das Paket an Jana Schulz, Lindenstraße 23, 10969 Berlin, Hinterhaus 2. OG.",
    ),
    P(
        "address",
        "de",
        "Wir sind umgezogen! Neue Adresse: Familie Wagner, Am Eichenhain 7a, "
        "82131 Gauting. Schreib bitte eine nette Karte dazu.",
    ),
    P(
        "bank",
        "de",
        "Überweis mir die 120 € bitte auf <<iban_spaced:DE>>, Kontoinhaber Tobias Krüger.",
    ),
    P(
        "bank",
        "de",
        "IBAN: <<iban:DE>> BIC: COBADEFFXXX - ist das für die SEPA-Lastschrift richtig formatiert?",
    ),
    P(
        "health",
        "de",
        "Mein Vater (Klaus Weber, 67) hat seit der Chemo gegen Prostatakrebs "
        "ständig Durchfall - was kann er essen?",
    ),
    P(
        "health",
        "de",
        "Versichertennummer <<de_kvnr>>, AOK. Ich brauche einen Widerspruch gegen "
        "die Ablehnung meiner Psychotherapie wegen Depression.",
    ),
    P(
        "name_birthdate",
        "de",
        "Antrag auf Kindergeld: Kind Mia Hoffmann, geb. 12.04.2019, "
        "Mutter Sabine Hoffmann. Formuliere das Anschreiben.",
    ),
    P(
        "credential",
        "de",
        "Das WLAN-Passwort für die Ferienwohnung ist <<password>>, schreib das "
        "bitte schön in die Gästemappe.",
    ),
    P(
        "credential",
        "de",
        "Mein Passwort für das Online-Banking lautet <<password>>, reicht das "
        "oder soll ich es ändern?",
    ),
    P(
        "plate",
        "de",
        "Der Wagen mit dem Kennzeichen M-KL 4821 gehört Herrn Stefan Brandt aus "
        "Nr. 7, er parkt ständig auf meinem Stellplatz. Schreib ihm einen Brief.",
    ),
    P(
        "national_id",
        "de",
        "Personalausweisnummer <<de_ausweis>>, gültig bis 2031. Für die "
        "Kontoeröffnung, was brauche ich noch?",
    ),
    P(
        "national_id",
        "de",
        "Meine Sozialversicherungsnummer ist <<at_svnr>> (Österreich), "
        "bitte für den Dienstzettel eintragen.",
    ),
    P(
        "national_id",
        "de",
        "AHV-Nummer: <<ch_ahv>>. Ich wechsle die Stelle in Zürich, was muss "
        "ich der Ausgleichskasse melden?",
    ),
    P(
        "ip",
        "de",
        "Seit Wochen bekomme ich Drohmails, der Header zeigt die IP <<ipv4_public>> - "
        "das ist laut Provider der Anschluss meines Nachbarn Herr Lange. Anzeige formulieren.",
    ),
    P(
        "address",
        "de",
        "Lieferschein erstellen.",
        field="tool_args",
        tool="create_shipment",
        args='{"empfaenger": "Lukas Becker", "strasse": "Hauptstr. 112", "plz": "70173", '
        '"ort": "Stuttgart", "telefon": "<<phone_national:DE>>"}',
    ),
    P(
        "bank",
        "de",
        None,
        field="split",
        turns=[
            "Meine IBAN fängt an mit <<iban_spaced:DE=i1|head>>",
            "und der Rest ist <<=i1|tail>>. Bitte Dauerauftrag formulieren.",
        ],
    ),
    P(
        "email",
        "de",
        "Fasse den Vertrag zusammen.",
        field="metadata",
        metadata='{"kunde": "petra.neumann@web.de", "vertrag": "Strom Basis"}',
    ),
    # --- French (FR, BE, CH) ----------------------------------------------------------
    P("national_id", "fr", "Mon numéro de sécu c'est <<fr_nir>>, je le mets où sur le Cerfa ?"),
    P(
        "national_id",
        "fr",
        "n° de sécurité sociale : <<fr_nir|nosep>> - rédige un courrier à "
        "la CPAM pour mon remboursement",
    ),
    P(
        "tax_id",
        "fr",
        "Mon numéro fiscal est le <<fr_nif>>, comment je déclare mes revenus de location meublée ?",
    ),
    P("phone", "fr", "Appelle-moi au <<phone_national:FR>> dès que tu sors du travail."),
    P("phone", "fr", "mon portable : <<phone_resep:FR:.>> (Camille)"),
    P(
        "phone",
        "fr",
        "Tél. <<phone_intl:FR>> - c'est le numéro perso de ma mère, note-le dans "
        "le dossier de l'EHPAD",
    ),
    P("address", "fr", "Livrer à : M. Julien Moreau, 14 rue des Lilas, Bât. B, 69003 Lyon."),
    P(
        "address",
        "fr",
        "J'habite au 3 allée des Peupliers, 33700 Mérignac, écris une lettre à "
        "mon propriétaire pour le dégât des eaux.",
    ),
    P(
        "bank",
        "fr",
        "Voici mon RIB : <<iban_spaced:FR>>, BIC BNPAFRPPXXX, titulaire Camille "
        "Girard. Rédige le mail pour mon employeur.",
    ),
    P(
        "health",
        "fr",
        "Ma fille Léa, 9 ans, a été diagnostiquée épileptique la semaine dernière. "
        "Comment l'expliquer à son école ?",
    ),
    P(
        "health",
        "fr",
        "Je suis sous antidépresseurs (sertraline 50 mg) depuis mon burn-out, "
        "est-ce que je dois le dire à la médecine du travail ?",
    ),
    P(
        "name_birthdate",
        "fr",
        "Je m'appelle Nathalie Dubois, née le 3 février 1981 à Nantes. "
        "Rédige une lettre de motivation pour un poste de comptable.",
    ),
    P(
        "passport",
        "fr",
        "Passeport n° <<passport_number:FRA>>, délivré à Marseille le "
        "12/05/2022. Remplis la demande de visa avec ça.",
    ),
    P(
        "plate",
        "fr",
        "La Clio immatriculée GH-482-KL appartient à mon voisin Pierre Lefèvre, "
        "elle est garée devant mon garage depuis trois jours.",
    ),
    P(
        "credential",
        "fr",
        "Le mot de passe de la box c'est <<password>>, tu peux me faire une "
        "affichette pour les invités ?",
    ),
    P(
        "national_id",
        "fr",
        "Mon numéro de registre national est <<be_nn>>, pour la mutuelle "
        "belge, qu'est-ce que je remplis ?",
    ),
    P(
        "national_id",
        "fr",
        "Voici mon numéro AVS <<ch_ahv|nosep>>, je commence chez un nouvel employeur à Lausanne.",
    ),
    P(
        "card",
        "fr",
        "Ma carte bleue <<card:visa|g4>>, expire 03/29 : pourquoi le paiement est "
        "refusé sur le site ?",
    ),
    P(
        "national_id",
        "fr",
        "Rédige la réponse au patient.",
        field="system_then_user",
        system="Tu es l'assistant du cabinet du Dr Martin. Patient : Hugo Bernard, né le "
        "17/08/1972, NIR <<fr_nir>>, diabète de type 2.",
    ),
    P(
        "phone",
        "fr",
        None,
        field="split",
        turns=[
            "mon numéro commence par <<phone_national:FR=f1|head>>",
            "et finit par <<=f1|tail>>, envoie-moi un rappel demain",
        ],
    ),
    # --- Spanish (ES, MX, AR, CL, CO) -------------------------------------------------
    P("national_id", "es", "Mi DNI es <<es_dni>>, ¿me ayudas a rellenar la solicitud del paro?"),
    P(
        "national_id",
        "es",
        "NIE: <<es_nie|nie_dash>>. Tengo que renovar la tarjeta de "
        "residencia, ¿qué documentos necesito?",
    ),
    P("national_id", "es", "Mi CURP es <<mx_curp>>, ¿cómo saco la constancia de situación fiscal?"),
    P(
        "tax_id",
        "es",
        "RFC: <<mx_rfc>>. Necesito facturar como persona física, ayúdame con el "
        "correo al contador.",
    ),
    P(
        "national_id",
        "es",
        "Mi RUT es <<cl_rut>>, redacta un reclamo al SII por la devolución de impuestos.",
    ),
    P(
        "national_id",
        "es",
        "DNI <<ar_dni>>, nacido el 4/9/1992 en Rosario. Armame un CV corto para una pasantía.",
    ),
    P("phone", "es", "Mi móvil es el <<phone_national:ES>>, llámame cuando llegues a la estación."),
    P("phone", "es", "Celular: <<phone_national:MX>>, mándame la ubicación por WhatsApp."),
    P("phone", "es", "mi cel es <<phone_national:AR>> dale avisame"),
    P("address", "es", "Envíalo a Lucía Fernández, C/ Mayor 15, 3º izq., 28013 Madrid."),
    P(
        "address",
        "es",
        "Vivo en Av. Insurgentes Sur 1602, int. 8, col. Crédito Constructor, "
        "03940 Ciudad de México. Escribe una queja a la alcaldía.",
    ),
    P("bank", "es", "Hazme la transferencia a <<iban_spaced:ES>>, titular Javier Ruiz Ortega."),
    P(
        "health",
        "es",
        "Tengo VIH desde 2019 y mi nuevo dentista me pregunta por medicación. "
        "¿Estoy obligado a decírselo?",
    ),
    P(
        "health",
        "es",
        "A mi madre, Carmen López, le diagnosticaron párkinson en octubre. "
        "¿Qué ayudas puede pedir en la Comunidad de Madrid?",
    ),
    P(
        "name_birthdate",
        "es",
        "Mi abuelo José Martínez García nació el 12 de marzo de 1941 en "
        "Jaén; escribe unas palabras para su funeral.",
    ),
    P("card", "es", "Tarjeta <<card:mc|dash4>> caduca 08/27, ¿por qué me la rechazan?"),
    P(
        "credential",
        "es",
        "En el config.yaml tengo\n```yaml\nsmtp:\n  user: ventas@mitienda.es"
        "\n  password: <<password>>\n```\n¿por qué no envía correos?",
    ),
    P(
        "plate",
        "es",
        "El coche con matrícula 4821 KLM es de mi vecino Andrés Gil, me rayó la "
        "puerta. Redacta el parte amistoso.",
    ),
    P(
        "national_id",
        "es",
        "Registra al paciente.",
        field="tool_args",
        tool="registrar_paciente",
        args='{"nombre": "Sofía Navarro", "dni": "<<es_dni>>", "alergias": "penicilina"}',
    ),
    # --- Italian ------------------------------------------------------------------------
    P(
        "national_id",
        "it",
        "Il mio codice fiscale è <<it_cf>>, mi aiuti a compilare il modulo ISEE?",
    ),
    P(
        "national_id",
        "it",
        "codice fiscale <<it_cf|lower>> - nome Marco Bianchi, serve per la fattura del dentista",
    ),
    P("phone", "it", "Scrivimi su WhatsApp al <<phone_national:IT>>, sono Giulia."),
    P("phone", "it", "cell. <<phone_intl:IT>> chiamami appena puoi"),
    P(
        "address",
        "it",
        "Spedire a: Luca Rossi, Via Garibaldi 12, 20121 Milano (MI), citofono Rossi-Bianchi.",
    ),
    P(
        "bank",
        "it",
        "Il mio IBAN è <<iban_spaced:IT>>, intestato a Francesca Conti. Scrivi la "
        "mail per il rimborso.",
    ),
    P(
        "health",
        "it",
        "Mia madre Giovanna ha l'Alzheimer in fase iniziale e ieri si è persa "
        "tornando a casa. Come posso fare domanda per l'accompagnamento?",
    ),
    P(
        "name_birthdate",
        "it",
        "Sono Antonio Esposito, nato a Napoli il 21/06/1975: preparami il curriculum europeo.",
    ),
    P(
        "credential",
        "it",
        "Il PIN del mio bancomat è 4821 e la password dell'app è "
        "<<password>>, li ho scritti bene nelle note?",
    ),
    P(
        "plate",
        "it",
        "La macchina targata FK 482 LM è del mio vicino Paolo Greco, parcheggia "
        "sempre davanti al passo carrabile.",
    ),
    P("card", "it", "Carta <<card:visa|nosep>> scadenza 12/28: perché Amazon la rifiuta?"),
    P(
        "phone",
        "it",
        "Rispondi al cliente.",
        field="system_then_user",
        system="Sei l'assistente dell'agenzia. Cliente: Elena Ferri, tel. "
        "<<phone_national:IT>>, via Roma 3, Bologna.",
    ),
    # --- Portuguese (BR, PT) --------------------------------------------------------------
    P(
        "national_id",
        "pt",
        "Meu CPF é <<br_cpf>>, pode me ajudar a preencher a declaração do imposto de renda?",
    ),
    P("national_id", "pt", "cpf <<br_cpf|nosep>> nome Ana Paula Souza, faz a ficha de cadastro"),
    P("phone", "pt", "Meu celular é <<phone_national:BR>>, me chama no zap."),
    P("bank", "pt", "Minha chave Pix é meu CPF <<br_cpf>>, manda o valor do aluguel lá."),
    P(
        "address",
        "pt",
        "Entregar em: Rua das Flores, 123, apto 42, Pinheiros, São Paulo - SP, "
        "05422-010, aos cuidados de Rafael Lima.",
    ),
    P(
        "health",
        "pt",
        "Meu marido, Carlos, está fazendo hemodiálise três vezes por semana por "
        "causa da insuficiência renal. Ele pode se aposentar por invalidez?",
    ),
    P(
        "name_birthdate",
        "pt",
        "Minha filha Beatriz Costa nasceu em 15/08/2016, escreve um "
        "convite para a festa de dez anos dela.",
    ),
    P("tax_id", "pt", "O meu NIF é <<pt_nif>>, preciso de uma fatura com ele para o IRS."),
    P("phone", "pt", "Telemóvel: <<phone_national:PT>> - liga-me depois das sete."),
    P("bank", "pt", "O IBAN da minha conta é <<iban_spaced:PT>>, titular Inês Carvalho."),
    P("card", "pt", "Cartão <<card:mc|g4>> validade 05/28, por que a compra não passa?"),
    P(
        "national_id",
        "pt",
        None,
        field="split",
        turns=[
            "vou mandar meu cpf em partes: <<br_cpf=b1|head>>",
            "<<=b1|tail>>",
            "confere se o dígito verificador está certo",
        ],
    ),
    # --- Dutch (NL, BE) -------------------------------------------------------------------
    P("national_id", "nl", "Mijn BSN is <<nl_bsn>>, waar vul ik dat in bij de toeslagen-aanvraag?"),
    P("phone", "nl", "Bel me op <<phone_resep:NL:->> als het pakket er is."),
    P(
        "address",
        "nl",
        "Mijn adres is Keizersgracht 123-2, 1015 CJ Amsterdam. Schrijf een "
        "klacht aan de verhuurder over de lekkage.",
    ),
    P("bank", "nl", "Maak het bedrag over naar <<iban_spaced:NL>> t.n.v. S. de Vries."),
    P(
        "health",
        "nl",
        "Mijn zoon Daan (14) heeft net de diagnose ADHD gekregen en begint met "
        "methylfenidaat. Hoe vertel ik dat aan zijn mentor?",
    ),
    P(
        "plate",
        "nl",
        "De auto met kenteken 12-ABC-3 is van mijn buurman Jeroen Bakker, hij "
        "blokkeert steeds de inrit.",
    ),
    P(
        "name_birthdate",
        "nl",
        "Schrijf een felicitatie voor Femke Jansen, geboren op 2 mei "
        "1964, ze wordt binnenkort zestig plus.",
    ),
    P(
        "national_id",
        "nl",
        "Mijn rijksregisternummer is <<be_nn|nosep>>, wat moet ik invullen bij de mutualiteit?",
    ),
    # --- Polish ---------------------------------------------------------------------------
    P("national_id", "pl", "Mój PESEL to <<pl_pesel>>, pomóż mi wypełnić wniosek o 800+."),
    P("phone", "pl", "Mój numer: <<phone_national:PL>>, zadzwoń po 18."),
    P("phone", "pl", "tel. <<phone_resep:PL:->> (prywatny, nie podawaj dalej)"),
    P(
        "address",
        "pl",
        "Adres do wysyłki: Katarzyna Nowak, ul. Marszałkowska 84/92 m. 15, 00-514 Warszawa.",
    ),
    P(
        "bank",
        "pl",
        "Numer konta: <<iban_spaced:PL|nocc>>, odbiorca Piotr Wiśniewski, tytuł: czynsz grudzień.",
    ),
    P(
        "health",
        "pl",
        "Moja żona Agnieszka ma stwardnienie rozsiane i dostała rzut. Jak "
        "napisać wniosek o urlop opiekuńczy?",
    ),
    P(
        "name_birthdate",
        "pl",
        "Tomasz Kowalczyk, ur. 14.02.1978 w Krakowie - napisz krótki biogram do wniosku.",
    ),
    P(
        "national_id",
        "pl",
        "Uzupełnij wniosek.",
        field="tool_args",
        tool="fill_form",
        args='{"imie": "Marta", "nazwisko": "Zielińska", "pesel": "<<pl_pesel>>"}',
    ),
    # --- Nordic -----------------------------------------------------------------------------
    P(
        "national_id",
        "sv",
        "Mitt personnummer är <<se_personnummer>>, hur ansöker jag om föräldrapenning?",
    ),
    P(
        "national_id",
        "sv",
        "personnr <<se_personnummer_long>> - fyll i blanketten till Försäkringskassan",
    ),
    P("phone", "sv", "Ring mig på <<phone_national:SE>> när du är framme."),
    P(
        "address",
        "sv",
        "Jag bor på Storgatan 12 lgh 1102, 114 51 Stockholm. Skriv ett klagomål till hyresvärden.",
    ),
    P(
        "health",
        "sv",
        "Min pappa Lars fick en stroke i förra veckan och har svårt att prata. "
        "Vad kan vi förvänta oss av rehabiliteringen?",
    ),
    P("bank", "sv", "Mitt konto: <<iban_spaced:SE>>, kontoinnehavare Erik Lindqvist."),
    P(
        "national_id",
        "da",
        "Mit CPR-nummer er <<dk_cpr>>, hvordan melder jeg flytning til kommunen?",
    ),
    P("phone", "da", "Du kan ringe til mig på +45 <<phone_national:DK>>, jeg hedder Mette."),
    P("national_id", "no", "Fødselsnummeret mitt er <<no_fnr>>. Hvordan søker jeg om bostøtte?"),
    P("national_id", "fi", "Henkilötunnukseni on <<fi_hetu>>, miten haen asumistukea Kelalta?"),
    P(
        "health",
        "fi",
        "Äitini Leena sai rintasyöpädiagnoosin ja aloittaa sytostaatit ensi "
        "viikolla. Miten voin tukea häntä?",
    ),
    # --- Turkish ----------------------------------------------------------------------------
    P(
        "national_id",
        "tr",
        "T.C. kimlik numaram <<tr_tckimlik>>, e-Devlet şifremi unuttum, ne yapmalıyım?",
    ),
    P("phone", "tr", "Cep telefonum <<phone_national:TR>>, kargo gelince arayın."),
    P(
        "address",
        "tr",
        "Adresim: Bağdat Caddesi No: 215 D: 7, Kadıköy/İstanbul, Ayşe Yılmaz adına.",
    ),
    P("bank", "tr", "Kirayı <<iban_spaced:TR>> IBAN'ına yatır, alıcı Mehmet Demir."),
    P(
        "health",
        "tr",
        "Babam Hasan Bey'e geçen ay KOAH teşhisi kondu, oksijen cihazı için rapor nasıl alınır?",
    ),
    P(
        "name_birthdate",
        "tr",
        "Oğlum Emir Kaya 3 Ağustos 2018'de doğdu, anaokulu başvurusu için kısa bir tanıtım yaz.",
    ),
    # --- Russian -----------------------------------------------------------------------------
    P("phone", "ru", "Мой номер <<phone_national:RU>>, позвоните, когда курьер будет у подъезда."),
    P("phone", "ru", "тел. <<phone_intl:RU>> (Ольга), перезвоните вечером"),
    P(
        "national_id",
        "ru",
        "Паспорт серия 45 <<digits:2>> № <<digits:6>>, выдан ОВД Тверского "
        "района 12.03.2015. Заполни заявление на загранпаспорт.",
    ),
    P("national_id", "ru", "Мой СНИЛС <<ru_snils>>, как проверить пенсионные накопления?"),
    P(
        "tax_id",
        "ru",
        "ИНН физлица: <<ru_inn_person>>. Составь заявление на налоговый вычет за лечение.",
    ),
    P(
        "address",
        "ru",
        "Доставка: г. Москва, ул. Тверская, д. 7, кв. 12, получатель Иванов Пётр Сергеевич.",
    ),
    P("card", "ru", "Карта Мир <<mir_card|g4>>, срок 10/27 - почему не проходит оплата?"),
    P(
        "health",
        "ru",
        "У моей дочери Алины (7 лет) нашли сахарный диабет первого типа. Как "
        "объяснить учителю, что делать при гипогликемии?",
    ),
    P(
        "name_birthdate",
        "ru",
        "Смирнова Екатерина Андреевна, 12.05.1983 г.р. - напиши характеристику с места работы.",
    ),
    # --- Chinese ----------------------------------------------------------------------------
    P("national_id", "zh", "我的身份证号是<<cn_ric>>，帮我填一下社保卡申请表。"),
    P("national_id", "zh", "身份证：<<cn_ric|grp:6,8,4>>，姓名李娜，帮我写一份租房合同。"),
    P("phone", "zh", "我的手机号<<phone_digits:CN>>，快递到了给我打电话。"),
    P("phone", "zh", "联系电话：<<phone_resep:CN:->>（王先生），请尽快回复。"),
    P("address", "zh", "收货地址：上海市浦东新区世纪大道100号2栋1503室，张伟收。"),
    P("health", "zh", "我妈妈上个月查出乳腺癌二期，医生建议先化疗再手术，我们该怎么准备？"),
    P("name_birthdate", "zh", "我儿子王小明，2015年6月1日出生，帮我写一份小学入学的自我介绍。"),
    P("card", "zh", "我的银联卡号<<unionpay>>，为什么转账一直失败？"),
    P("credential", "zh", "我的微信密码是<<password>>，被盗了怎么办？"),
    P("national_id", "zh", "我的身分證字號是<<tw_id>>，幫我寫健保卡補發的申請。"),
    P(
        "phone",
        "zh",
        None,
        field="split",
        turns=["我的电话前面是<<phone_digits:CN=z1|head>>", "后面是<<=z1|tail>>，记一下"],
    ),
    # --- Japanese --------------------------------------------------------------------------
    P(
        "national_id",
        "ja",
        "マイナンバーは<<jp_mynumber>>です。確定申告の書類に書く場所を教えてください。",
    ),
    P("phone", "ja", "携帯は<<phone_digits:JP>>です。荷物が届いたら連絡ください。"),
    P("phone", "ja", "連絡先：<<phone_national:JP>>（佐藤）"),
    P(
        "address",
        "ja",
        "〒150-0001 東京都渋谷区神宮前1-2-3 メゾン原宿405号 佐藤花子 宛に送ってください。",
    ),
    P(
        "health",
        "ja",
        "夫がうつ病で三か月休職しています。傷病手当金の申請書の書き方を教えてください。",
    ),
    P(
        "name_birthdate",
        "ja",
        "山田太郎（1985年4月12日生まれ、大阪府出身）の自己紹介文を作ってください。",
    ),
    P(
        "bank",
        "ja",
        "振込先は三菱UFJ銀行 渋谷支店 普通 <<digits:7>> ヤマダ タロウです。請求書の文面を作って。",
    ),
    P(
        "plate",
        "ja",
        "品川 300 さ 12-34 の車は隣の田中さんのもので、いつも駐車場をふさいでいま"
        "す。手紙を書いてください。",
    ),
    # --- Korean ---------------------------------------------------------------------------
    P("national_id", "ko", "제 주민등록번호는 <<kr_rrn>>입니다. 연말정산 서류 작성 좀 도와주세요."),
    P("phone", "ko", "제 번호는 <<phone_national:KR>>이에요. 도착하면 연락 주세요."),
    P("phone", "ko", "연락처 <<phone_digits:KR>> 으로 문자 주세요"),
    P("address", "ko", "서울특별시 강남구 테헤란로 123, 4층 (역삼동) 김민준 앞으로 보내주세요."),
    P(
        "bank",
        "ko",
        "국민은행 <<digits:6>>-<<digits:2>>-<<digits:6>> 예금주 이서연으로 입금해 주세요.",
    ),
    P("health", "ko", "어머니가 치매 진단을 받으셨어요. 장기요양등급 신청서를 어떻게 쓰나요?"),
    P(
        "name_birthdate",
        "ko",
        "박지훈, 1992년 11월 3일생, 부산 출신. 자기소개서 첫 문단을 써 주세요.",
    ),
    # --- Hindi -----------------------------------------------------------------------------
    P("national_id", "hi", "मेरा आधार नंबर <<in_aadhaar>> है, इसे पैन से कैसे लिंक करूँ?"),
    P("phone", "hi", "मेरा मोबाइल नंबर <<phone_intl:IN>> है, डिलीवरी से पहले कॉल करें।"),
    P("tax_id", "hi", "मेरा पैन <<in_pan>> है, आयकर रिटर्न में गलती सुधारने का पत्र लिखो।"),
    P("address", "hi", "पता: फ्लैट 302, साईं अपार्टमेंट, सेक्टर 15, नोएडा, उत्तर प्रदेश 201301, राहुल शर्मा।"),
    P("health", "hi", "मेरी माँ सुनीता को पिछले महीने टीबी हुई है, दवाइयों के साथ क्या खाना चाहिए?"),
    P("bank", "hi", "मेरी UPI आईडी rahul.sharma88@okicici है, किराया इसी पर भेज देना।"),
    P(
        "name_birthdate",
        "hi",
        "मेरी बेटी अनन्या वर्मा का जन्म 9 जुलाई 2014 को हुआ था, स्कूल दाखिले के लिए परिचय लिखो।",
    ),
    # --- Arabic ----------------------------------------------------------------------------
    P("phone", "ar", "رقم جوالي <<phone_national:SA>>، اتصل بي عند وصول الطلب."),
    P("phone", "ar", "رقمي <<phone_intl:EG>> ابعتلي على الواتساب"),
    P("national_id", "ar", "رقم الهوية الوطنية <<sa_national_id>>، كيف أجدد الإقامة لوالدتي؟"),
    P(
        "address",
        "ar",
        "العنوان: شارع التحلية، حي السليمانية، مبنى 14 شقة 3، الرياض 12245، باسم عبدالله القحطاني.",
    ),
    P(
        "health",
        "ar",
        "أختي فاطمة مصابة بسرطان الدم وتتلقى العلاج الكيميائي، كيف أطلب إجازة مرافق من عملي؟",
    ),
    P(
        "name_birthdate",
        "ar",
        "اسمي يوسف الحسيني، مواليد 17/03/1989 في عمّان، اكتب لي سيرة ذاتية مختصرة.",
    ),
    P("email", "ar", "أرسل العقد إلى بريدي الشخصي layla.haddad92@hotmail.com من فضلك."),
    # --- Hebrew ----------------------------------------------------------------------------
    P("national_id", "he", "מספר תעודת הזהות שלי הוא <<il_idnr>>, איך ממלאים את טופס 101?"),
    P("phone", "he", "הטלפון שלי <<phone_national:IL>>, תתקשר כשאתה מגיע."),
    # --- Other languages -------------------------------------------------------------------
    P("national_id", "th", "เลขบัตรประชาชนของฉันคือ <<th_pin>> ช่วยกรอกแบบฟอร์มขอวีซ่าให้หน่อย"),
    P("national_id", "id", "NIK saya <<id_nik>>, tolong bantu isi formulir BPJS Kesehatan."),
    P("national_id", "ms", "Nombor MyKad saya <<my_nric>>, bagaimana nak memohon pasport baru?"),
    P("tax_id", "hr", "Moj OIB je <<hr_oib>>, napiši zahtjev za povrat poreza."),
    P("national_id", "cs", "Moje rodné číslo je <<cz_rc>>, jak si zažádám o nový občanský průkaz?"),
    P("national_id", "el", "Ο ΑΜΚΑ μου είναι <<gr_amka>>, πώς κλείνω ραντεβού στον γιατρό;"),
    P(
        "national_id",
        "ro",
        "CNP-ul meu este <<ro_cnp>>, ajută-mă să completez cererea de alocație.",
    ),
    P("national_id", "bg", "Моето ЕГН е <<bg_egn>>, как да подам данъчна декларация онлайн?"),
    P("national_id", "et", "Minu isikukood on <<ee_ik>>, kuidas taotleda uut ID-kaarti?"),
    P("national_id", "en", "my PPS number is <<ie_pps>>, how do I claim the medical card?"),
    P(
        "national_id",
        "en",
        "ID number <<za_idnr>> - help me fill in the SASSA grant form for my gran.",
    ),
    # --- more placements: system prompts, tool calls, metadata, the user field ---------------
    P(
        "credential",
        "en",
        "Deploy the service.",
        field="system_then_user",
        system="You are the deploy bot. Log in to the registry as deploy-bot with password "
        "<<password>> before pushing.",
    ),
    P(
        "card",
        "en",
        "Charge the customer for the upgrade.",
        field="tool_args",
        tool="charge_card",
        args='{"card_number": "<<card:visa>>", "exp": "04/29", "cvc": "771", "amount": 49.0}',
    ),
    P(
        "bank",
        "de",
        "Erstelle die Rechnung.",
        field="metadata",
        metadata='{"iban": "<<iban:DE>>", "kunde": "Werner Schmitt"}',
    ),
    P(
        "national_id",
        "ko",
        "고객 정보를 요약해 줘.",
        field="tool_result",
        result='{"이름": "최유진", "주민번호": "<<kr_rrn>>", "등급": "VIP"}',
    ),
    P("phone", "ja", "今日の予定をまとめて。", field="user_field", user="<<phone_intl:JP>>"),
    P(
        "passport",
        "de",
        "Buchung abschließen.",
        field="tool_args",
        tool="book_flight",
        args='{"passagier": "Anna Müller", "reisepass": "<<passport_number:D>>", '
        '"geburtsdatum": "1990-03-21"}',
    ),
    P(
        "ip",
        "fr",
        "Ma fille de 15 ans se connecte à des forums la nuit depuis l'IP <<ipv4_public>> "
        "de la box de son père. Comment lui en parler ?",
    ),
    P(
        "ip",
        "en",
        "my home router's public IPv6 is <<ipv6_public>> and my brother keeps "
        "port-scanning it from his flat, how do I block him?",
    ),
    P("passport", "zh", "我的护照号是E<<digits:8>>，帮我填一下申根签证表。"),
    P(
        "email",
        "fr",
        "Réponds-lui poliment.",
        field="parts",
        parts=[
            "Mail reçu de sophie.lambert1988@orange.fr :",
            "« Bonjour, je relance pour le devis. »",
        ],
    ),
    P(
        "health",
        "de",
        "Und was sage ich meinem Chef?",
        field="history",
        history=[
            "Ich habe gestern erfahren, dass ich Multiple Sklerose habe. Wie gehe ich damit um?",
            "Das tut mir leid. Hier ein paar Gedanken...",
        ],
    ),
    P(
        "name_birthdate",
        "es",
        "Prepara el informe.",
        field="metadata",
        metadata='{"paciente": "Ana Ruiz Castillo", "fecha_nacimiento": "1987-09-14"}',
    ),
]
