// OHIF Viewer (v3) data source for medimg. Copy into OHIF's public/config/*.js (or merge the
// dataSources entry) and replace https://pacs.example.org with medimg's --public-url.
// The flags say what medimg supports, so OHIF sends the requests it answers best.
window.config = {
  routerBasename: '/',
  showStudyList: true,
  defaultDataSourceName: 'medimg',
  dataSources: [
    {
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'medimg',
      configuration: {
        friendlyName: 'medimg',
        name: 'medimg',
        wadoUriRoot: 'https://pacs.example.org/wado',
        qidoRoot: 'https://pacs.example.org/dicomweb',
        wadoRoot: 'https://pacs.example.org/dicomweb',
        qidoSupportsIncludeField: true,
        supportsFuzzyMatching: true, // word-prefix, accent- and order-insensitive name matching
        supportsWildcard: true,
        supportsReject: false,
        supportsStow: true,
        dicomUploadEnabled: true,
        imageRendering: 'wadors', // frames as stored (transfer-syntax=*), decoded in the browser
        thumbnailRendering: 'thumbnailDirect', // GET …/thumbnail; served with CORP cross-origin
        enableStudyLazyLoad: true, // series list, then /series/{uid}/metadata per series
        bulkDataURI: { enabled: true }, // medimg's BulkDataURIs are absolute (--public-url)
        omitQuotationForMultipartRequest: false, // both quoted and unquoted Accept forms work
        staticWado: false,
      },
    },
  ],
};
