"""Fixed wording of the evidence report: the method in plain French and English."""

from __future__ import annotations

__all__ = ["METHOD_FR", "METHOD_EN", "PSEUDONYM_NOTE_FR", "PSEUDONYM_NOTE_EN", "VERIFY_NOTE"]

METHOD_FR = (
    "Shabaka lit les feuilles de soins et prises en charge de l'AMO telles que transmises par la caisse, "
    "sans les modifier, et les représente comme un réseau : patients, prestataires (cliniques, laboratoires, "
    "pharmacies), médecins, et ce que des foyers sans lien entre eux partagent (téléphone, compte de paiement, "
    "point de dépôt, accompagnateur). Des détecteurs mesurent, pour chaque prestataire, des indicateurs de "
    "contrôle (visites par bénéficiaire, part de patients Tadamon, part de chirurgie, montant par patient) "
    "comparés à la médiane des prestataires du même type et de la même région, et repèrent les groupes de "
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
    "Detectors measure each provider's control indicators (visits per beneficiary, share of Tadamon patients, "
    "share of surgery, amount per patient) against the median of providers of the same type and region, and "
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
