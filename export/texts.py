"""Fixed wording of the evidence report: the method in plain French and English."""

from __future__ import annotations

__all__ = ["SCORE_HELP", "SCORE_HELP_FR", "METHOD_FR", "METHOD_EN", "PSEUDONYM_NOTE_FR", "PSEUDONYM_NOTE_EN", "VERIFY_NOTE", "INDICATOR_NOTE_EN",
           "INDICATOR_NOTE_FR"]

#: What every score shown means: one scale, the surprise of docs/detectors.md.
SCORE_HELP = (
    "Surprise score: -log10 of the chance that a world without fraud shows something this extreme among "
    "everything the detector looked at (corrected for how many were tested). 2 = one fraud-free world in 100, "
    "3 = one in 1,000; each point more is ten times rarer. A ring's score combines its detectors' best groups "
    "(Fisher's method); a member's is its own combined surprise (a patient's: its group's); an entity's page "
    "shows the larger of its own and its best ring's."
)
SCORE_HELP_FR = (
    "Score de surprise : -log10 de la probabilité qu'un monde sans fraude montre un écart aussi extrême parmi "
    "tout ce que le détecteur a examiné (corrigée du nombre de tests). 2 = un monde sans fraude sur 100, "
    "3 = un sur 1 000 ; chaque point de plus est dix fois plus rare."
)

METHOD_FR = (
    "Shabaka lit les feuilles de soins et prises en charge de l'AMO telles que transmises par la caisse, "
    "sans les modifier, et les représente comme un réseau : patients, prestataires (cliniques, laboratoires, "
    "pharmacies), médecins, et ce que des foyers sans lien entre eux partagent (téléphone, compte de paiement, "
    "point de dépôt, accompagnateur). Des détecteurs mesurent, pour chaque prestataire, des indicateurs de "
    "contrôle (dossiers et montant par patient, croissance, médicaments ALD hors ALD, chirurgies sans "
    "consultation, actes chers pour des patients Tadamon d'ailleurs) comparés aux prestataires du même type et "
    "de la même région, et repèrent les groupes de "
    "patients envoyés ensemble vers les mêmes prestataires. Un réseau suspect est assemblé par des règles fixes "
    "et explicables : les mêmes données et les mêmes paramètres donnent toujours le même réseau, ce que la "
    "commande « shabaka reproduce » permet de vérifier. Le montant à risque est la somme réclamée au titre des "
    "actes suspects du réseau. Ces éléments signalent des anomalies à instruire ; ils ne constituent pas à eux "
    "seuls la preuve d'une fraude."
)

METHOD_EN = (
    "Shabaka reads the AMO claims (feuilles de soins and prior authorisations) as the fund supplied them, "
    "without changing them, and represents them as a network: patients, providers (clinics, labs, pharmacies), "
    "doctors, and what unrelated households share (a phone, a payee account, a submission point, a referrer). "
    "Detectors measure each provider's control indicators (dossiers and amount per patient, growth, ALD drugs "
    "for non-ALD patients, surgeries without consultation, expensive acts for Tadamon patients from elsewhere) "
    "against providers of the same type and region, and "
    "find groups of patients sent together to the same providers. A suspected ring is assembled by fixed, "
    "explainable rules: the same data and parameters always give the same ring, which the command "
    "'shabaka reproduce' checks. The amount at risk is the sum claimed through the ring's suspicious acts. "
    "These findings point to anomalies to investigate; on their own they do not prove fraud."
)

PSEUDONYM_NOTE_FR = (
    "Identifiants personnels (bénéficiaires, foyers, téléphones, comptes, accompagnateurs) remplacés par un "
    "pseudonyme à clé (HMAC-SHA256) ; la clé reste à la caisse, qui seule peut rétablir les identités."
)
PSEUDONYM_NOTE_EN = (
    "Personal identifiers (beneficiaries, households, phones, accounts, referrers) replaced by a keyed "
    "pseudonym (HMAC-SHA256); the key stays with the fund, which alone can restore identities."
)

VERIFY_NOTE = (
    "Integrity / intégrité : unzip, then run 'sha256sum -c manifest-sha256.txt' in the bundle folder, "
    "or 'shabaka verify BUNDLE.zip'."
)

INDICATOR_NOTE_EN = (
    "The indicator detector's own figures: each member against the peer group it was scored in (same type, "
    "or specialty for doctors, and region; the type alone, then everyone, when the group is too small), over "
    "the run's whole claims window; z is the robust z-score the detector used (capped). A member the "
    "detector did not score (too few lines), or compared with everyone or no one, is shown against the "
    "national peers of its type instead, without z, and its peer group says so."
)
INDICATOR_NOTE_FR = (
    "Les chiffres mêmes du détecteur d'indicateurs : chaque membre face au groupe de pairs auquel il a été "
    "comparé (même type, ou spécialité pour les médecins, et même région ; le type seul, puis tous, quand le "
    "groupe est trop petit), sur toute la période de l'analyse ; z est le score robuste utilisé (plafonné). "
    "Un membre que le détecteur n'a pas noté (trop peu de lignes), ou comparé à tous ou à personne, est "
    "comparé aux pairs nationaux de son type, sans z, et son groupe de pairs le dit."
)
